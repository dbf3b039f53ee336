import type { CommandContext } from '../context';
import type { HostNode } from '../../views/nodes';

/** Re-list domains and re-read their QEMU binaries (of one host from its context menu, else of every connected host). */
export async function refreshHosts(ctx: CommandContext, node?: HostNode): Promise<void> {
  const hosts = node ? [ctx.registry.get(node.alias)].filter((h) => h !== undefined) : ctx.registry.hosts;
  await Promise.all(
    hosts
      .filter((h) => h.connection.state.kind === 'connected')
      .map(async (h) => {
        await h.refresh();
        await ctx.qemu.probe(h.alias);
      }),
  );
}
