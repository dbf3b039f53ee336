import * as vscode from 'vscode';
import type { CommandContext } from '../context';
import type { HostNode } from '../../views/nodes';
import { pickHost, selectedNodes } from '../pickers';

export async function disconnectHost(ctx: CommandContext, clicked?: HostNode, selected?: HostNode[]): Promise<void> {
  const nodes = selectedNodes<HostNode>(clicked, selected, 'host');
  const hosts = nodes.length
    ? nodes.map((n) => ctx.registry.get(n.alias)).filter((h) => h !== undefined)
    : [
        await pickHost(
          ctx,
          vscode.l10n.t('Ferry: Disconnect from Host'),
          (h) => h.connection.state.kind === 'connected',
        ),
      ];
  for (const h of hosts) h.connection.disconnect();
}
