import * as vscode from 'vscode';
import { config } from '../../vscode/config';
import type { CommandContext } from '../context';
import type { HostNode } from '../../views/nodes';
import { pickHost, selectedNodes } from '../pickers';

/** Remove hosts from ferry.hosts (nothing changes on the host itself). */
export async function removeHost(ctx: CommandContext, clicked?: HostNode, selected?: HostNode[]): Promise<void> {
  const nodes = selectedNodes<HostNode>(clicked, selected, 'host');
  const aliases = nodes.length
    ? nodes.map((n) => n.alias)
    : [(await pickHost(ctx, vscode.l10n.t('Ferry: Remove Host'))).alias];
  const remaining = config.hosts().filter((h) => !aliases.includes(h));
  await config.setHosts(remaining);
  ctx.registry.setHosts(remaining);
}
