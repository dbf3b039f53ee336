/** "Show Interface Traffic": the live rate through a running interface's host device against its enforced limit. */
import type { TrafficPanels } from '../../views/trafficPanel';
import type { CommandContext } from '../../vscode/context';
import { interfacesFor } from './interfaces';

export async function showInterfaceTraffic(
  ctx: CommandContext,
  panels: TrafficPanels,
  clicked?: unknown,
  selected?: unknown,
): Promise<void> {
  const nodes = await interfacesFor(
    ctx,
    'Ferry: Show Interface Traffic',
    clicked,
    selected,
    (n) => n.domain.state === 'running' && !!n.iface.device,
  );
  for (const node of nodes) panels.show(node);
}
