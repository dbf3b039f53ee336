/** "Remove Interface Limit": clear one or both directions, then read back that nothing limits the interface. */
import type { Direction, QosChange, Scope } from '../../core/qos';
import { DIRECTIONS, QOS_INTERFACE_TYPES } from '../../core/qos';
import type { QosResult } from '../../services/qos';
import type { InterfaceNode } from '../../views/nodes';
import { pickOne } from '../../vscode/ask';
import type { FerryContext } from '../../vscode/context';
import { UserCancelled } from '../../vscode/runCommand';
import { askScopes, interfacesFor } from './interfaces';
import { applyChange } from './setInterfaceBandwidth';

export interface RemoveLimitRequest {
  directions: Direction[];
  scopes: Scope[];
}

const TITLE = 'Ferry: Remove Interface Limit';

export async function removeInterfaceLimit(
  ctx: FerryContext,
  clicked?: unknown,
  selected?: unknown,
  request?: RemoveLimitRequest,
): Promise<QosResult[]> {
  const limited = (d: Direction) => (n: InterfaceNode) => !!n.iface.bandwidth[d];
  const nodes = await interfacesFor(
    ctx,
    TITLE,
    clicked,
    selected,
    (n) => QOS_INTERFACE_TYPES.includes(n.iface.type) && DIRECTIONS.some((d) => limited(d)(n)),
  );
  let directions = request?.directions ?? DIRECTIONS.filter((d) => nodes.some(limited(d)));
  if (!request && directions.length > 1) {
    const pick = await pickOne(
      [
        { label: 'Both directions', directions },
        { label: 'Inbound only (into the guest)', directions: ['inbound'] as Direction[] },
        { label: 'Outbound only (out of the guest)', directions: ['outbound'] as Direction[] },
      ],
      { title: TITLE, placeHolder: 'Which limit to remove' },
    );
    if (!pick) throw new UserCancelled();
    directions = pick.directions;
  }
  const scopes = request?.scopes ?? (await askScopes(TITLE, nodes));
  const change: QosChange = { unit: ctx.qosRateUnit(), burstUnit: 'KiB' };
  for (const d of directions) change[d] = 'remove';
  // removing a limit needs no confirmation: it is undone by setting it again
  return applyChange(ctx, nodes, change, scopes, {});
}
