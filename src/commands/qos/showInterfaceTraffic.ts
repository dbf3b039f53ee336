/** "Show Interface Traffic": the live rate through a running interface's host device against its enforced limit. */
import * as vscode from 'vscode';
import type { CommandContext } from '../context';
import { interfacesFor } from './interfaces';

export async function showInterfaceTraffic(ctx: CommandContext, clicked?: unknown, selected?: unknown): Promise<void> {
  const nodes = await interfacesFor(
    ctx,
    vscode.l10n.t('Ferry: Show Interface Traffic'),
    clicked,
    selected,
    (n) => n.domain.state === 'running' && !!n.iface.device,
  );
  for (const node of nodes) ctx.traffic.show(node);
}
