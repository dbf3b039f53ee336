/**
 * The six lifecycle verbs share one shape (pick or take domains, maybe confirm, run, report), so they are one
 * table rather than six near-identical files.
 */
import * as vscode from 'vscode';
import type { LifecycleAction } from '../../core/domain';
import { actionsFor } from '../../core/domain';
import { Commands } from '../../vscode/contributions';
import type { CommandContext } from '../context';
import { withProgress } from '../../vscode/notify';
import { UserCancelled } from '../../vscode/userInput';
import type { DomainNode } from '../../views/nodes';
import { pickDomain, selectedNodes } from '../pickers';

interface Verb {
  command: string;
  action: LifecycleAction;
  title: string;
  /** progressive form for the status bar */
  doing: string;
  confirm?: (names: string[]) => string;
}

export const LIFECYCLE_VERBS: readonly Verb[] = [
  { command: Commands.domainStart, action: 'start', title: 'Start Domain', doing: 'Starting' },
  { command: Commands.domainShutdown, action: 'shutdown', title: 'Shut Down Domain', doing: 'Shutting down' },
  { command: Commands.domainReboot, action: 'reboot', title: 'Reboot Domain', doing: 'Rebooting' },
  {
    command: Commands.domainForceOff,
    action: 'forceOff',
    title: 'Force Off Domain',
    doing: 'Forcing off',
    confirm: (names) =>
      `Force off ${names.length === 1 ? `"${names[0]}"` : `${names.length} domains`}? This cuts power at once: unsaved guest data is lost.`,
  },
  { command: Commands.domainPause, action: 'pause', title: 'Pause Domain', doing: 'Pausing' },
  { command: Commands.domainResume, action: 'resume', title: 'Resume Domain', doing: 'Resuming' },
];

export async function runLifecycle(
  ctx: CommandContext,
  verb: Verb,
  clicked?: DomainNode,
  selected?: DomainNode[],
): Promise<void> {
  let nodes = selectedNodes<DomainNode>(clicked, selected, 'domain');
  if (!nodes.length)
    nodes = [await pickDomain(ctx, `Ferry: ${verb.title}`, (d) => actionsFor(d.state).includes(verb.action))];
  nodes = nodes.filter((n) => actionsFor(n.domain.state).includes(verb.action));
  if (!nodes.length) throw new Error(`${verb.title}: the selected domains are not in a state that allows it.`);
  if (verb.confirm) {
    const go = 'Force Off';
    const answer = await ctx.ui.askModal('warning', verb.confirm(nodes.map((n) => n.domain.name)), undefined, go);
    if (answer !== go) throw new UserCancelled();
  }
  await withProgress(
    {
      location: vscode.ProgressLocation.Window,
      title: `${verb.doing} ${nodes.length === 1 ? nodes[0].domain.name : `${nodes.length} domains`}`,
    },
    async () => {
      const failures: string[] = [];
      for (const node of nodes) {
        const inventory = ctx.registry.get(node.alias);
        if (!inventory) continue;
        try {
          await inventory.runAction(verb.action, node.domain.uuid);
        } catch (e) {
          failures.push(`${node.domain.name} on ${node.alias}: ${(e as Error).message}`);
        }
      }
      if (failures.length) throw new Error(`${verb.title} failed for ${failures.join('; ')}`);
    },
  );
}
