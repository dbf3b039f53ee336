/** "Remove Interface Limit": clear one or both directions, then read back that nothing limits the interface. */
import * as vscode from 'vscode';
import type { Direction, QosChange } from '../../core/qos';
import { DIRECTIONS, QOS_INTERFACE_TYPES } from '../../core/qos';
import type { QosResult } from '../../services/qos';
import type { InterfaceNode } from '../../views/nodes';
import type { CommandContext } from '../context';
import { UserCancelled } from '../../vscode/userInput';
import { askScopes, interfacesFor } from './interfaces';
import { applyChange } from './setInterfaceBandwidth';

export async function removeInterfaceLimit(
  ctx: CommandContext,
  clicked?: unknown,
  selected?: unknown,
): Promise<QosResult[]> {
  const title = vscode.l10n.t('Ferry: Remove Interface Limit');
  const limited = (d: Direction) => (n: InterfaceNode) => !!n.iface.bandwidth[d];
  const nodes = await interfacesFor(
    ctx,
    title,
    clicked,
    selected,
    (n) => QOS_INTERFACE_TYPES.includes(n.iface.type) && DIRECTIONS.some((d) => limited(d)(n)),
  );
  let directions = DIRECTIONS.filter((d) => nodes.some(limited(d)));
  if (!directions.length) {
    const names = nodes.map((n) => vscode.l10n.t('{0} of {1}', n.iface.mac, n.domain.name)).join(', ');
    throw new Error(vscode.l10n.t('{0} has no limit to remove (refresh the tree if it shows one).', names));
  }
  if (directions.length > 1) {
    const pick = await ctx.ui.pickOne(
      [
        { label: vscode.l10n.t('Both directions'), directions },
        { label: vscode.l10n.t('Inbound only (into the guest)'), directions: ['inbound'] as Direction[] },
        { label: vscode.l10n.t('Outbound only (out of the guest)'), directions: ['outbound'] as Direction[] },
      ],
      { title, placeHolder: vscode.l10n.t('Which limit to remove') },
    );
    if (!pick) throw new UserCancelled();
    directions = pick.directions;
  }
  const scopes = await askScopes(ctx, title, nodes);
  const change: QosChange = { unit: ctx.qosRateUnit(), burstUnit: 'KiB' };
  for (const d of directions) change[d] = 'remove';
  return applyChange(ctx, nodes, change, scopes, { confirm: false });
}
