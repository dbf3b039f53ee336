/** The Hypervisors tree: hosts, and under each its domains or one message node saying why there are none. */
import * as vscode from 'vscode';
import type { HostRegistry } from '../services/hostRegistry';
import type { MigrationRunner } from '../services/migration';
import type { HostInventory } from '../services/inventory';
import { DisposableStore } from '../core/disposables';
import { leftOverFrom, treeOrder } from '../core/domain';
import type { Domain, DomainState } from '../core/domain';
import type { RateUnit } from '../core/qos';
import type { InterfaceState, QosService } from '../services/qos';
import type { SshErrorKind } from '../transport/sshError';
import { restrictedPodsMessage } from '../core/kubevirt';
import type { DomainNode, HostNode, InterfaceNode, KubevirtNamespaceNode, MessageNode, TreeNode } from './nodes';
import { domainTreeItem, hostTreeItem, interfaceTreeItem, kubevirtNamespaceTreeItem, messageTreeItem } from './nodes';

/** What the tree shows of the QEMU binaries domains run (services/qemuBinaries). */
export interface QemuSource {
  describe(alias: string, uuid: string): string | undefined;
  staleCount(alias: string): number;
  onDidChange(listener: (alias: string) => void): { dispose(): void };
}

/** where the tree reads a domain's interfaces, and the unit it shows their limits in */
export interface InterfaceSource {
  qos: Pick<QosService, 'interfaces'>;
  rateUnit(): RateUnit;
}

/** what a host row says of a failed connection, by kind (made when drawn: vscode.l10n.t) */
const CONNECTION_FAILURE: Record<SshErrorKind, () => string> = {
  hostKeyUnknown: () => vscode.l10n.t('Unknown host key — click to review the fingerprint'),
  hostKeyChanged: () => vscode.l10n.t('Host key changed — refusing to connect'),
  hostKeyRevoked: () => vscode.l10n.t('Host key revoked — refusing to connect'),
  auth: () => vscode.l10n.t('Authentication failed'),
  passphrase: () => vscode.l10n.t('Authentication failed'),
  timeout: () => vscode.l10n.t('Timed out'),
  closed: () => vscode.l10n.t('Connection lost'),
  refused: () => vscode.l10n.t('Connection refused'),
  unreachable: () => vscode.l10n.t('Host unreachable'),
  dns: () => vscode.l10n.t('Host unreachable'),
  cancelled: () => vscode.l10n.t('Cannot connect'),
  other: () => vscode.l10n.t('Cannot connect'),
};

export function messageFor(inventory: HostInventory): MessageNode | undefined {
  const state = inventory.connection.state;
  const alias = inventory.alias;
  if (state.kind === 'failed') {
    const e = state.error;
    const text = CONNECTION_FAILURE[e.kind]();
    return {
      kind: 'message',
      alias,
      text: state.retryAt
        ? vscode.l10n.t('{0}. Retrying in {1} s.', text, Math.max(1, Math.round((state.retryAt - Date.now()) / 1000)))
        : `${text}.`,
      detail: [e.message, e.hint].filter(Boolean).join('\n'),
      retry: true,
    };
  }
  if (state.kind === 'disconnected')
    return { kind: 'message', alias, text: vscode.l10n.t('Disconnected — click to connect'), retry: true };
  if (state.kind === 'connected' && inventory.libvirtError) {
    return {
      kind: 'message',
      alias,
      text: vscode.l10n.t('libvirt not available: {0}', inventory.libvirtError),
      detail: vscode.l10n.t('Is libvirtd (or virtqemud) running on the host, and may this user use it?'),
      retry: false,
    };
  }
  if (state.kind === 'connected' && inventory.domains?.length === 0)
    return { kind: 'message', alias, text: vscode.l10n.t('No domains'), retry: false };
  return undefined;
}

/** changes that arrive within this long are drawn together (a burst of domain events, a migration's progress) */
const COALESCE_MS = 50;
/**
 * and redraws come at most this often: in a storm of events (a fleet of hosts, 100 events/s) each redraw of a host
 * rebuilds its list of a thousand domains, so fewer of them cost the extension host less, for a little latency (the
 * fleet bench: 150 ms gave an event → tree p99 of 151-154 ms, 80 ms 83-85 ms, for 1-2 % more of a core)
 */
const MIN_REDRAW_INTERVAL_MS = 80;

export class HostsTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly disposables = new DisposableStore();
  private readonly emitter = this.disposables.add(new vscode.EventEmitter<TreeNode | undefined>());
  readonly onDidChangeTreeData = this.emitter.event;
  /** one node object per host: VS Code redraws an element it is given back by identity */
  private readonly hostNodes = new Map<string, HostNode>();
  private readonly dirty = new Set<string>();
  private everything = false;
  /** whether VS Code has asked for the hosts yet: until then there is nothing to redraw */
  private drawn = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private lastRedraw = -Infinity;
  /**
   * A domain's node and tree item are made again only when its domain object (the inventory makes a new one for a
   * change) or what the tree adds to it (a migration's progress, a stale QEMU, where a left-over definition's domain
   * runs) changed: a host of a thousand domains redrawn for one event builds one item, not a thousand.
   */
  private readonly domainNodes = new WeakMap<Domain, DomainNode>();
  private readonly domainItems = new WeakMap<DomainNode, vscode.TreeItem>();
  /**
   * per host drawn, its left-over definitions as drawn (a row whose domain is shut off here while it runs on another
   * host says where) and from which listing and index of where domains run, so a change on another host redraws the
   * hosts it touches
   */
  private readonly leftOversDrawn = new Map<
    string,
    { domains: readonly Domain[]; running: ReadonlyMap<string, readonly string[]>; key: string }
  >();
  /** interfaces per expanded domain, read again when its state changes or a limit is set: never polled */
  private readonly interfaces = new Map<string, { state: DomainState; read: Promise<InterfaceState[]> }>();

  constructor(
    private readonly registry: HostRegistry,
    private readonly migrations: MigrationRunner,
    private readonly interfaceSource: InterfaceSource,
    private readonly qemu: QemuSource,
  ) {
    this.disposables.add(qemu.onDidChange((alias) => this.changed(alias)));
    this.disposables.add(registry.onDidChange((alias) => this.changed(alias)));
    // a migration's progress shows on its two hosts' domain rows, and nowhere else
    this.disposables.add(migrations.onDidChange((m) => [m.source, m.target].forEach((alias) => this.changed(alias))));
  }

  private hostNode(alias: string): HostNode {
    let node = this.hostNodes.get(alias);
    if (!node) this.hostNodes.set(alias, (node = { kind: 'host', alias }));
    return node;
  }

  private changed(alias: string | undefined) {
    if (!this.drawn) return;
    if (alias === undefined) this.everything = true;
    else this.dirty.add(alias);
    this.flushTimer ??= setTimeout(
      () => {
        if (this.disposables.isDisposed) return;
        this.flushTimer = undefined;
        this.lastRedraw = performance.now();
        if (this.everything) this.emitter.fire(undefined);
        else {
          for (const a of this.leftOversMoved()) this.dirty.add(a);
          for (const a of this.dirty) if (this.registry.get(a)) this.emitter.fire(this.hostNode(a));
        }
        this.everything = false;
        this.dirty.clear();
      },
      Math.max(COALESCE_MS, this.lastRedraw + MIN_REDRAW_INTERVAL_MS - performance.now()),
    );
  }

  /**
   * the hosts drawn whose left-over definitions now say otherwise (their domain started or stopped elsewhere), each
   * taken as drawn anew: VS Code does not ask a collapsed host for its rows, and it is not to be redrawn again
   */
  private leftOversMoved(): string[] {
    return [...this.leftOversDrawn].flatMap(([alias, drawn]) => {
      const inventory = this.registry.get(alias);
      if (!inventory) {
        this.leftOversDrawn.delete(alias);
        return [];
      }
      const now = this.leftOversOf(alias, inventory.domains ?? []);
      return now.key === drawn.key ? [] : [alias];
    });
  }

  /**
   * a host's left-overs as it is drawn now: each one's UUID and where its domain runs, worked out again only when its
   * listing or the index changed (up to ten times a second in a fleet's storm of events), in a plain loop that makes
   * nothing unless it finds one
   */
  private leftOversOf(alias: string, domains: readonly Domain[]) {
    const running = this.registry.whereRunning();
    const last = this.leftOversDrawn.get(alias);
    if (last?.domains === domains && last.running === running) return last;
    let key = '';
    if (running.size)
      for (const d of domains) {
        const where = leftOverFrom(running, alias, d);
        if (where) key += `${d.uuid}@${where} `;
      }
    const now = { domains, running, key };
    this.leftOversDrawn.set(alias, now);
    return now;
  }

  /** Read a domain's interfaces again (after a change of its limits) and redraw them. */
  refreshInterfaces(alias: string, uuid: string): void {
    this.interfaces.delete(`${alias}:${uuid}`);
    this.changed(alias);
  }

  /** Redraw everything (e.g. the rate unit changed). */
  refreshAll(): void {
    this.changed(undefined);
  }

  /** a rejection, not a throw, when the host is gone from the settings: the row then says why */
  private async readInterfaces(node: DomainNode): Promise<InterfaceState[]> {
    const { connection } = this.registry.require(node.alias);
    return this.interfaceSource.qos.interfaces(connection, node.domain.uuid, node.domain.state === 'running');
  }

  private async interfaceNodes(node: DomainNode): Promise<TreeNode[]> {
    const key = `${node.alias}:${node.domain.uuid}`;
    let cached = this.interfaces.get(key);
    if (!cached || cached.state !== node.domain.state) {
      cached = { state: node.domain.state, read: this.readInterfaces(node) };
      this.interfaces.set(key, cached);
    }
    try {
      const interfaces = await cached.read;
      if (!interfaces.length)
        return [
          {
            kind: 'message',
            alias: node.alias,
            under: node.domain.uuid,
            text: vscode.l10n.t('No network interfaces'),
            retry: false,
          },
        ];
      return interfaces.map((iface): InterfaceNode => ({
        kind: 'interface',
        alias: node.alias,
        domain: node.domain,
        iface,
      }));
    } catch (e) {
      if (this.interfaces.get(key) === cached) this.interfaces.delete(key);
      return [
        {
          kind: 'message',
          alias: node.alias,
          under: node.domain.uuid,
          text: vscode.l10n.t('Cannot read the interfaces: {0}', (e as Error).message),
          retry: false,
        },
      ];
    }
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    if (node.kind === 'domain') {
      let item = this.domainItems.get(node);
      if (!item) this.domainItems.set(node, (item = domainTreeItem(node)));
      return item;
    }
    if (node.kind === 'interface') return interfaceTreeItem(node, this.interfaceSource.rateUnit());
    if (node.kind === 'message') return messageTreeItem(node);
    if (node.kind === 'kubevirtNamespace') return kubevirtNamespaceTreeItem(node);
    const inventory = this.registry.get(node.alias);
    return inventory ? hostTreeItem(inventory, this.qemu.staleCount(node.alias)) : new vscode.TreeItem(node.alias);
  }

  getChildren(node?: TreeNode): TreeNode[] | Promise<TreeNode[]> {
    if (!node) {
      this.drawn = true;
      return this.registry.hosts.map((h) => this.hostNode(h.alias));
    }
    if (node.kind === 'domain') return node.domain.kubevirt ? [] : this.interfaceNodes(node);
    if (node.kind === 'kubevirtNamespace') return this.kubevirtNodes(node);
    if (node.kind !== 'host') return [];
    const inventory = this.registry.get(node.alias);
    if (!inventory) return [];
    const message = messageFor(inventory);
    const kubevirt = inventory.connection.state.kind === 'connected' ? this.kubevirtGroups(inventory) : [];
    if (message || inventory.connection.state.kind !== 'connected') {
      this.leftOversDrawn.delete(node.alias);
      // a KubeVirt node may have no libvirt of its own: its pods are shown all the same
      if (!message) return [];
      return kubevirt.length && inventory.domains?.length === 0 ? kubevirt : [message, ...kubevirt];
    }
    const domains = inventory.domains ?? [];
    const { running } = this.leftOversOf(node.alias, domains);
    return [...this.domainRows(node.alias, domains, running), ...kubevirt];
  }

  /** The namespaces of a KubeVirt node's pods, and what keeps some of them from being read (DVP). */
  private kubevirtGroups(inventory: HostInventory): TreeNode[] {
    const pods = inventory.kubevirt.pods;
    const namespaces = [...new Set(pods.map((p) => p.pod.namespace))].sort();
    const groups: TreeNode[] = namespaces.map((namespace) => {
      const here = pods.filter((p) => p.pod.namespace === namespace);
      return {
        kind: 'kubevirtNamespace',
        alias: inventory.alias,
        namespace,
        pods: here.length,
        running: here.filter((p) => p.domain?.state === 'running').length,
      };
    });
    const restricted = pods.filter((p) => p.pod.restricted).map((p) => p.pod);
    if (restricted.length)
      groups.push({
        kind: 'message',
        alias: inventory.alias,
        under: 'kubevirt-restricted',
        text: vscode.l10n.t(
          '{0} KubeVirt pods cannot be read from the node (DVP: the launcher alone may use libvirt)',
          restricted.length,
        ),
        detail: restrictedPodsMessage(restricted),
        retry: false,
      });
    return groups;
  }

  private kubevirtNodes(node: KubevirtNamespaceNode): TreeNode[] {
    const inventory = this.registry.get(node.alias);
    if (!inventory) return [];
    const pods = inventory.kubevirt.pods.filter((p) => p.pod.namespace === node.namespace && !p.pod.restricted);
    const domains = pods.flatMap((p) => (p.domain ? [p.domain] : []));
    const unread: TreeNode[] = pods
      .filter((p) => !p.domain)
      .map((p) => ({
        kind: 'message',
        alias: node.alias,
        under: `kubevirt-pod-${p.pod.launcherPid}`,
        text: vscode.l10n.t('{0}: {1}', p.pod.vm, p.error ?? vscode.l10n.t('reading its libvirt…')),
        detail: vscode.l10n.t('virt-launcher pid {0}', p.pod.launcherPid),
        retry: false,
      }));
    return [...this.domainRows(node.alias, domains), ...unread];
  }

  /**
   * rows of domains of a host (its libvirt's, or a namespace's pods'), kept per domain object while unchanged; with
   * `running`, a shut-off domain that runs on another host says where
   */
  private domainRows(
    alias: string,
    domains: readonly Domain[],
    running?: ReadonlyMap<string, readonly string[]>,
  ): DomainNode[] {
    const migrations = this.migrations.byDomain();
    return [...domains].sort(treeOrder).map((domain): DomainNode => {
      const m = migrations.get(domain.uuid);
      const migration =
        m && (m.source === alias || m.target === alias)
          ? {
              direction:
                m.source === m.target ? ('inPlace' as const) : m.source === alias ? ('to' as const) : ('from' as const),
              peer: m.source === alias ? m.target : m.source,
              percent: m.percent,
              step: m.operationStep,
            }
          : undefined;
      const staleQemu =
        domain.state === 'running' || domain.state === 'paused' ? this.qemu.describe(alias, domain.uuid) : undefined;
      const runsOn = running?.size ? leftOverFrom(running, alias, domain) : undefined;
      const cached = this.domainNodes.get(domain);
      if (
        cached &&
        cached.alias === alias &&
        cached.staleQemu === staleQemu &&
        cached.runsOn === runsOn &&
        (cached.migration === migration || JSON.stringify(cached.migration) === JSON.stringify(migration))
      )
        return cached;
      const fresh: DomainNode = { kind: 'domain', alias: alias, domain, migration, staleQemu, runsOn };
      this.domainNodes.set(domain, fresh);
      return fresh;
    });
  }

  getParent(node: TreeNode): TreeNode | undefined {
    if (node.kind === 'host') return undefined;
    if (node.kind === 'interface') return { kind: 'domain', alias: node.alias, domain: node.domain };
    if (node.kind === 'domain' && node.domain.kubevirt) {
      const group = this.kubevirtGroups(this.registry.require(node.alias));
      return group.find((g) => g.kind === 'kubevirtNamespace' && g.namespace === node.domain.kubevirt!.namespace);
    }
    return this.hostNode(node.alias);
  }

  dispose(): void {
    clearTimeout(this.flushTimer);
    this.disposables.dispose();
  }
}
