/** "Set Interface Bandwidth…": enter a limit in a unit you pick, see it converted, apply it, see it proven on the host. */
import * as vscode from 'vscode';
import type { QosChange, Scope } from '../../core/qos';
import { describeLimits, DIRECTIONS, planQos, QOS_INTERFACE_TYPES } from '../../core/qos';
import type { QosResult } from '../../services/qos';
import type { InterfaceNode } from '../../views/nodes';
import type { CommandContext } from '../context';
import { notify, withProgress } from '../../vscode/notify';
import { UserCancelled } from '../../vscode/userInput';
import { askChange, askScopes, interfacesFor } from './interfaces';

export async function setInterfaceBandwidth(
  ctx: CommandContext,
  clicked?: unknown,
  selected?: unknown,
): Promise<QosResult[]> {
  const title = vscode.l10n.t('Ferry: Set Interface Bandwidth');
  const nodes = await interfacesFor(ctx, title, clicked, selected, (n) => QOS_INTERFACE_TYPES.includes(n.iface.type));
  const floorAllowed = nodes.every((n) => n.iface.type === 'network');
  const change = await askChange(ctx, title, nodes[0].iface.bandwidth, floorAllowed);
  const scopes = await askScopes(ctx, title, nodes);
  return applyChange(ctx, nodes, change, scopes, { confirm: true });
}

/**
 * Check the change for every interface, ask before rounding anything up, confirm (unless it only removes a limit,
 * which setting it again undoes), apply, report what the host shows.
 */
export async function applyChange(
  ctx: CommandContext,
  nodes: InterfaceNode[],
  change: QosChange,
  scopes: Scope[],
  { confirm }: { confirm: boolean },
): Promise<QosResult[]> {
  const target = (n: InterfaceNode) => ({ type: n.iface.type, uri: ctx.libvirtUri() });
  let plans = nodes.map((n) => planQos(change, target(n), false));
  const problems = [...new Set(plans.flatMap((p) => p.problems))];
  if (problems.length) throw new Error(vscode.l10n.t('Nothing was changed. {0}', problems.join(' ')));
  const roundsToZero = [...new Set(plans.flatMap((p) => p.roundsToZero))];
  if (roundsToZero.length) {
    const up = vscode.l10n.t('Round Up to the Smallest Limit');
    const question = vscode.l10n.t('A value would silently mean "no limit"');
    if ((await ctx.ui.askModal('warning', question, roundsToZero.join('\n\n'), up)) !== up) throw new UserCancelled();
    plans = nodes.map((n) => planQos(change, target(n), true));
  }
  const names = nodes.map((n) => vscode.l10n.t('{0} ({1} on {2})', n.iface.mac, n.domain.name, n.alias));
  if (confirm) {
    const apply = vscode.l10n.t('Apply');
    const where =
      scopes.length === 2
        ? vscode.l10n.t('live and persistent')
        : scopes[0] === 'live'
          ? vscode.l10n.t('live only')
          : vscode.l10n.t('persistent only');
    const detail = `${names.join('\n')}\n\n${plans[0].conversions.join('\n')}\n\n${where}`;
    const question = vscode.l10n.t('Set {0}?', describeLimits(plans[0].bandwidth, change.unit));
    if ((await ctx.ui.askModal('info', question, detail, apply)) !== apply) throw new UserCancelled();
  }
  const results: QosResult[] = [];
  await withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: vscode.l10n.t('Setting interface bandwidth'),
      cancellable: false,
    },
    async (progress) => {
      for (const [i, node] of nodes.entries()) {
        progress.report({ message: names[i] });
        const host = ctx.registry.require(node.alias);
        try {
          results.push(await ctx.qos.apply(host.connection, node.domain.uuid, node.iface, plans[i], scopes));
        } finally {
          ctx.tree.refreshInterfaces(node.alias, node.domain.uuid);
        }
      }
    },
  );
  reportResults(nodes, results, change.unit);
  return results;
}

/** A mismatch is an error with its evidence; agreement says what the kernel enforces. */
function reportResults(nodes: InterfaceNode[], results: QosResult[], unit: QosChange['unit']) {
  results.forEach((r, i) => {
    const n = nodes[i];
    const what = `${n.domain.name} ${n.iface.mac}`;
    if (r.mismatches.length) return void notify('error', `${what}: ${r.mismatches.join(' ')}`);
    const stored = r.stored.live ?? r.stored.config ?? {};
    const kernel =
      r.kernel?.htb && n.iface.device
        ? `; ${vscode.l10n.t('{0} is shaped at {1} Mbit/s', n.iface.device, r.kernel.htb.rateBits / 1e6)}`
        : '';
    const scopes = Object.keys(r.stored).map((s) =>
      s === 'live' ? vscode.l10n.t('live') : vscode.l10n.t('persistent'),
    );
    const limited = DIRECTIONS.some((d) => stored[d]);
    void notify(
      'info',
      vscode.l10n.t(
        '{0}: {1} ({2}, read back from libvirt{3}).',
        what,
        limited ? describeLimits(stored, unit) : vscode.l10n.t('no limit'),
        scopes.length ? scopes.reduce((a, b) => vscode.l10n.t('{0} and {1}', a, b)) : '',
        kernel,
      ),
    );
  });
}
