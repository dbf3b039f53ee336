/** QuickPick fallbacks so every command also works from the palette, and node unpacking for tree invocations. */
import * as vscode from 'vscode';
import type { Domain } from '../core/domain';
import { kubevirtOwnsMessage } from '../core/kubevirt';
import { inert } from '../core/text';
import type { DomainAddresses } from '../core/virsh';
import type { HostInventory } from '../services/inventory';
import type { DomainNode, TreeNode } from '../views/nodes';
import type { CommandContext } from './context';
import { UserCancelled } from '../vscode/userInput';

/**
 * Tree commands get (clicked, selected[]); palette commands get nothing. Every command that takes domains this way
 * acts on them: a VM KubeVirt owns is refused, with what to use instead.
 */
export function selectedNodes<T extends TreeNode>(clicked: unknown, selected: unknown, kind: T['kind']): T[] {
  const all = Array.isArray(selected) && selected.length ? selected : clicked ? [clicked] : [];
  const nodes = all.filter((n): n is T => typeof n === 'object' && n !== null && (n as TreeNode).kind === kind);
  for (const n of nodes) refuseKubevirt(n);
  return nodes;
}

/** Throws the user-facing refusal when a node is a VM KubeVirt owns. */
export function refuseKubevirt(node: TreeNode | undefined): void {
  const pod = node?.kind === 'domain' ? node.domain.kubevirt : undefined;
  if (pod) throw new Error(kubevirtOwnsMessage(pod, vscode.l10n.t('acting on it')));
}

export async function pickHost(
  ctx: CommandContext,
  title: string,
  filter: (h: HostInventory) => boolean = () => true,
): Promise<HostInventory> {
  const hosts = ctx.registry.hosts.filter(filter);
  if (!hosts.length) throw new Error(vscode.l10n.t('{0}: no suitable host. Add one with "Ferry: Add Host…".', title));
  const pick = await ctx.ui.pickOne(
    hosts.map((h) => ({ label: `$(server) ${inert(h.alias)}`, description: h.connection.state.kind, host: h })),
    { title, placeHolder: vscode.l10n.t('Pick a host') },
  );
  if (!pick) throw new UserCancelled();
  return pick.host;
}

export async function pickDomain(
  ctx: CommandContext,
  title: string,
  filter: (d: Domain) => boolean,
): Promise<DomainNode> {
  const items = ctx.registry.hosts.flatMap((h) =>
    (h.domains ?? []).filter(filter).map((domain) => ({
      label: inert(domain.name),
      description: `${inert(h.alias)} · ${domain.state}`,
      node: { kind: 'domain', alias: h.alias, domain } as DomainNode,
    })),
  );
  if (!items.length)
    throw new Error(vscode.l10n.t('{0}: no domain on a connected host is in a state that allows it.', title));
  const pick = await ctx.ui.pickOne(items, {
    title,
    placeHolder: vscode.l10n.t('Pick a domain'),
    matchOnDescription: true,
  });
  if (!pick) throw new UserCancelled();
  return pick.node;
}

/**
 * What an address prompt prefills and says: only leased addresses are prefilled (proof the VM holds them); addresses
 * only heard on the network are named, since any guest can answer ARP for another machine's address.
 */
export function addressPrompt(alias: string, known: DomainAddresses): { value: string; note: string } {
  const leased = known.leased.length
    ? vscode.l10n.t('{0} has leased it {1}.', alias, known.leased.join(', '))
    : vscode.l10n.t('{0} holds no DHCP lease for it.', alias);
  const heard = known.heard.length
    ? vscode.l10n.t(
        "Heard on its network from its MAC: {0} (not proof: type them if they are the VM's).",
        known.heard.join(', '),
      )
    : undefined;
  return { value: known.leased.join(' '), note: heard ? `${leased} ${heard}` : leased };
}
