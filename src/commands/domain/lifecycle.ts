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
import { runningElsewhereText } from '../../services/hostRegistry';

interface Verb {
  command: string;
  action: LifecycleAction;
  /** the command's title (texts are made when a command runs, not when the module loads: vscode.l10n.t) */
  title: () => string;
  /** progressive form for the status bar: "Starting tiny1", "Starting 3 domains" */
  doing: (names: readonly string[]) => string;
  confirm?: (names: readonly string[]) => string;
}

/** a text about one domain (its name is {0}) or about several (their count is {0}) */
const oneOrMany = (names: readonly string[], one: (name: string) => string, many: (count: number) => string) =>
  names.length === 1 ? one(names[0]) : many(names.length);

export const LIFECYCLE_VERBS: readonly Verb[] = [
  {
    command: Commands.domainStart,
    action: 'start',
    title: () => vscode.l10n.t('Start Domain'),
    doing: (names) =>
      oneOrMany(
        names,
        (name) => vscode.l10n.t('Starting {0}', name),
        (count) => vscode.l10n.t('Starting {0} domains', count),
      ),
  },
  {
    command: Commands.domainShutdown,
    action: 'shutdown',
    title: () => vscode.l10n.t('Shut Down Domain'),
    doing: (names) =>
      oneOrMany(
        names,
        (name) => vscode.l10n.t('Shutting down {0}', name),
        (count) => vscode.l10n.t('Shutting down {0} domains', count),
      ),
  },
  {
    command: Commands.domainReboot,
    action: 'reboot',
    title: () => vscode.l10n.t('Reboot Domain'),
    doing: (names) =>
      oneOrMany(
        names,
        (name) => vscode.l10n.t('Rebooting {0}', name),
        (count) => vscode.l10n.t('Rebooting {0} domains', count),
      ),
  },
  {
    command: Commands.domainForceOff,
    action: 'forceOff',
    title: () => vscode.l10n.t('Force Off Domain'),
    doing: (names) =>
      oneOrMany(
        names,
        (name) => vscode.l10n.t('Forcing off {0}', name),
        (count) => vscode.l10n.t('Forcing off {0} domains', count),
      ),
    confirm: (names) =>
      oneOrMany(
        names,
        (name) => vscode.l10n.t('Force off "{0}"? This cuts power at once: unsaved guest data is lost.', name),
        (count) => vscode.l10n.t('Force off {0} domains? This cuts power at once: unsaved guest data is lost.', count),
      ),
  },
  {
    command: Commands.domainPause,
    action: 'pause',
    title: () => vscode.l10n.t('Pause Domain'),
    doing: (names) =>
      oneOrMany(
        names,
        (name) => vscode.l10n.t('Pausing {0}', name),
        (count) => vscode.l10n.t('Pausing {0} domains', count),
      ),
  },
  {
    command: Commands.domainResume,
    action: 'resume',
    title: () => vscode.l10n.t('Resume Domain'),
    doing: (names) =>
      oneOrMany(
        names,
        (name) => vscode.l10n.t('Resuming {0}', name),
        (count) => vscode.l10n.t('Resuming {0} domains', count),
      ),
  },
];

export async function runLifecycle(
  ctx: CommandContext,
  verb: Verb,
  clicked?: DomainNode,
  selected?: DomainNode[],
): Promise<void> {
  let nodes = selectedNodes<DomainNode>(clicked, selected, 'domain');
  if (!nodes.length)
    nodes = [
      await pickDomain(ctx, vscode.l10n.t('Ferry: {0}', verb.title()), (d) =>
        actionsFor(d.state).includes(verb.action),
      ),
    ];
  nodes = nodes.filter((n) => actionsFor(n.domain.state).includes(verb.action));
  if (!nodes.length)
    throw new Error(vscode.l10n.t('{0}: the selected domains are not in a state that allows it.', verb.title()));
  const names = nodes.map((n) => n.domain.name);
  if (verb.confirm) {
    const go = vscode.l10n.t('Force Off');
    const answer = await ctx.ui.askModal('warning', verb.confirm(names), undefined, go);
    if (answer !== go) throw new UserCancelled();
  }
  const confirmedElsewhere = verb.action === 'start' ? await confirmStartsElsewhere(ctx, nodes) : new Set();
  await withProgress({ location: vscode.ProgressLocation.Window, title: verb.doing(names) }, async () => {
    const failures: string[] = [];
    for (const node of nodes) {
      if (!ctx.registry.get(node.alias)) continue;
      try {
        // a start the user confirmed above, though the domain runs elsewhere (refused if it began running since)
        await ctx.registry.runAction(node.alias, verb.action, node.domain.uuid, {
          evenIfRunningElsewhere: confirmedElsewhere.has(node),
        });
      } catch (e) {
        failures.push(vscode.l10n.t('{0} on {1}: {2}', node.domain.name, node.alias, (e as Error).message));
      }
    }
    if (failures.length) throw new Error(vscode.l10n.t('{0} failed for {1}', verb.title(), failures.join('; ')));
  });
}

/**
 * A start of a domain whose UUID is being migrated is refused; one whose UUID runs on another connected host (most
 * often the definition a migration left on its source) goes ahead only if the user says so: with shared disks, two
 * copies would write to them at once. Returns the nodes the user agreed to start though they run elsewhere.
 */
async function confirmStartsElsewhere(ctx: CommandContext, nodes: readonly DomainNode[]): Promise<Set<DomainNode>> {
  const moving = nodes.find((n) => ctx.migrations.findByDomain(n.domain.uuid));
  if (moving)
    throw new Error(
      vscode.l10n.t(
        '{0} is being migrated: starting its definition on {1} would run a second copy.',
        moving.domain.name,
        moving.alias,
      ),
    );
  const elsewhere = nodes.flatMap((n) => {
    const other = ctx.registry.runningElsewhere(n.alias, n.domain.uuid);
    return other ? [{ node: n, other }] : [];
  });
  if (!elsewhere.length) return new Set();
  const [{ node, other }] = elsewhere;
  const go = vscode.l10n.t('Start Anyway');
  const question =
    elsewhere.length === 1
      ? vscode.l10n.t(
          'A domain with the same UUID as {0} runs on {1}. Start {0} on {2} too?',
          node.domain.name,
          other,
          node.alias,
        )
      : vscode.l10n.t(
          '{0} of these domains run on other hosts under the same UUID. Start them anyway?',
          elsewhere.length,
        );
  const answer = await ctx.ui.askModal(
    'warning',
    question,
    runningElsewhereText(node.alias, other, node.domain.uuid),
    go,
  );
  if (answer !== go) throw new UserCancelled();
  return new Set(elsewhere.map((e) => e.node));
}
