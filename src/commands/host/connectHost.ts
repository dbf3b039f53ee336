import * as vscode from 'vscode';
import type { HostInventory } from '../../services/inventory';
import type { CommandContext } from '../context';
import type { HostNode, MessageNode } from '../../views/nodes';
import { withProgress } from '../../vscode/notify';
import { pickHost } from '../pickers';

export async function connectWithProgress(inventory: HostInventory): Promise<void> {
  await withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: vscode.l10n.t('Ferry: connecting to {0}…', inventory.alias),
      cancellable: true,
    },
    async (_progress, token) => {
      const cancel = token.onCancellationRequested(() => inventory.connection.disconnect());
      try {
        await inventory.connection.connect(true);
        await inventory.refresh();
      } finally {
        cancel.dispose();
      }
    },
  );
}

/** Connect (or retry) a host; unknown host keys are asked about here, with their fingerprint. */
export async function connectHost(ctx: CommandContext, node?: HostNode | MessageNode): Promise<void> {
  const inventory = node
    ? ctx.registry.require(node.alias)
    : await pickHost(ctx, vscode.l10n.t('Ferry: Connect to Host'), (h) => h.connection.state.kind !== 'connected');
  await connectWithProgress(inventory);
}
