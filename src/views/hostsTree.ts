/** The Hypervisors tree: hosts, and under each its domains or one message node saying why there are none. */
import * as vscode from 'vscode';
import type { HostRegistry } from '../services/hostRegistry';
import type { MigrationRunner } from '../services/migration';
import type { HostInventory } from '../services/inventory';
import type { DomainNode, MessageNode, TreeNode } from './nodes';
import { domainTreeItem, hostTreeItem, messageTreeItem } from './nodes';

export function messageFor(inventory: HostInventory): MessageNode | undefined {
  const state = inventory.connection.state;
  const alias = inventory.alias;
  if (state.kind === 'failed') {
    const e = state.error;
    const retrying = state.retryAt ? ` Retrying in ${Math.max(1, Math.round((state.retryAt - Date.now()) / 1000))} s.` : '';
    const text =
      e.kind === 'hostKeyUnknown' ? 'Unknown host key — click to review the fingerprint'
      : e.kind === 'hostKeyChanged' ? 'Host key changed — refusing to connect'
      : e.kind === 'hostKeyRevoked' ? 'Host key revoked — refusing to connect'
      : e.kind === 'auth' || e.kind === 'passphrase' ? 'Authentication failed'
      : e.kind === 'timeout' ? 'Timed out'
      : e.kind === 'closed' ? 'Connection lost'
      : e.kind === 'refused' ? 'Connection refused'
      : e.kind === 'unreachable' || e.kind === 'dns' ? 'Host unreachable'
      : 'Cannot connect';
    return { kind: 'message', alias, text: `${text}.${retrying}`, detail: [e.message, e.hint].filter(Boolean).join('\n'), retry: true };
  }
  if (state.kind === 'disconnected') return { kind: 'message', alias, text: 'Disconnected — click to connect', retry: true };
  if (state.kind === 'connected' && inventory.libvirtError) {
    return { kind: 'message', alias, text: `libvirt not available: ${inventory.libvirtError}`, detail: 'Is libvirtd (or virtqemud) running on the host, and may this user use it?', retry: false };
  }
  if (state.kind === 'connected' && inventory.domains?.length === 0) return { kind: 'message', alias, text: 'No domains', retry: false };
  return undefined;
}

export class HostsTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly subscriptions: { dispose(): void }[];

  constructor(
    private readonly registry: HostRegistry,
    private readonly migrations: MigrationRunner,
  ) {
    this.subscriptions = [registry.onDidChange(() => this.emitter.fire(undefined)), migrations.onDidChange(() => this.emitter.fire(undefined))];
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    if (node.kind === 'domain') return domainTreeItem(node);
    if (node.kind === 'message') return messageTreeItem(node);
    const inventory = this.registry.get(node.alias);
    return inventory ? hostTreeItem(inventory) : new vscode.TreeItem(node.alias);
  }

  getChildren(node?: TreeNode): TreeNode[] {
    if (!node) return this.registry.hosts.map((h) => ({ kind: 'host', alias: h.alias }));
    if (node.kind !== 'host') return [];
    const inventory = this.registry.get(node.alias);
    if (!inventory) return [];
    const message = messageFor(inventory);
    if (message) return [message];
    if (inventory.connection.state.kind !== 'connected') return [];
    return (inventory.domains ?? []).map((domain): DomainNode => {
      const m = this.migrations.findByDomain(domain.uuid);
      const migration = m && (m.source === node.alias || m.target === node.alias)
        ? { direction: m.source === node.alias ? ('to' as const) : ('from' as const), peer: m.source === node.alias ? m.target : m.source, percent: m.percent }
        : undefined;
      return { kind: 'domain', alias: node.alias, domain, migration };
    });
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return node.kind === 'host' ? undefined : { kind: 'host', alias: node.alias };
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.emitter.dispose();
  }
}
