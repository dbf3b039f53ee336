/** Tree nodes are plain data with stable ids; TreeItems are derived from them. */
import * as vscode from 'vscode';
import type { Domain, DomainState } from '../core/domain';
import type { RateUnit } from '../core/qos';
import { describeLimits, DIRECTIONS, QOS_INTERFACE_TYPES } from '../core/qos';
import type { HostInventory } from '../services/inventory';
import type { InterfaceState } from '../services/qos';
import type { ConnectionState } from '../transport/hostConnection';
import { Commands } from '../vscode/contributions';
import type {
  DomainContext,
  HostContext,
  InterfaceContext,
  KubevirtDomainContext,
  MessageContext,
} from '../vscode/contributions';
import { formatCaps } from '../core/kubevirt';

export interface HostNode {
  kind: 'host';
  alias: string;
}
export interface DomainNode {
  kind: 'domain';
  alias: string;
  domain: Domain;
  /** a migration Ferry runs for this domain, seen from this host */
  /** inPlace: between two libvirt daemons of this host (an in-place QEMU upgrade's hop) */
  migration?: { direction: 'to' | 'from' | 'inPlace'; peer: string; percent: number; step?: string };
  /** it runs a QEMU that was replaced on disk: what differs ("runs QEMU 10.0.2, 10.0.3 installed") */
  staleQemu?: string;
  /** shut off here, it runs on this other connected host: the definition a migration's source keeps */
  runsOn?: string;
}
/** A domain's network interface, with its limits as libvirt stores them and what the kernel does not enforce. */
export interface InterfaceNode {
  kind: 'interface';
  alias: string;
  domain: Domain;
  iface: InterfaceState;
}
export interface MessageNode {
  kind: 'message';
  alias: string;
  /** where it stands when not directly under its host (e.g. a domain's uuid): part of its id */
  under?: string;
  text: string;
  detail?: string;
  retry: boolean;
}
/** A Kubernetes namespace's VMs on a KubeVirt node (one virt-launcher pod each). */
export interface KubevirtNamespaceNode {
  kind: 'kubevirtNamespace';
  alias: string;
  namespace: string;
  /** its pods, and of them how many run */
  pods: number;
  running: number;
}
export type TreeNode = HostNode | DomainNode | InterfaceNode | MessageNode | KubevirtNamespaceNode;

const STATE_ICON: Record<DomainState, [string, string?]> = {
  running: ['vm-running', 'testing.iconPassed'],
  blocked: ['vm-running', 'list.warningForeground'],
  paused: ['debug-pause', 'list.warningForeground'],
  shutdown: ['loading~spin'],
  shutoff: ['vm-outline', 'disabledForeground'],
  crashed: ['error', 'list.errorForeground'],
  pmsuspended: ['debug-pause', 'disabledForeground'],
  migrating: ['arrow-swap', 'charts.blue'],
  nostate: ['question'],
};

/** a state as the tree says it (made when a row is drawn, not when the module loads: vscode.l10n.t) */
const stateLabel = (state: DomainState): string =>
  ({
    running: () => vscode.l10n.t('running'),
    blocked: () => vscode.l10n.t('blocked'),
    paused: () => vscode.l10n.t('paused'),
    shutdown: () => vscode.l10n.t('shutting down'),
    shutoff: () => vscode.l10n.t('shut off'),
    crashed: () => vscode.l10n.t('crashed'),
    pmsuspended: () => vscode.l10n.t('suspended'),
    migrating: () => vscode.l10n.t('migrating'),
    nostate: () => vscode.l10n.t('no state'),
  })[state]();

const icon = ([id, color]: [string, string?]) =>
  new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);

export function formatMemory(kib: number | undefined): string | undefined {
  if (kib === undefined) return undefined;
  const mib = kib / 1024;
  return mib >= 1024
    ? vscode.l10n.t('{0} GiB', (mib / 1024).toFixed(mib % 1024 ? 1 : 0))
    : vscode.l10n.t('{0} MiB', Math.round(mib));
}

export function hostContext(state: ConnectionState): HostContext {
  return `host:${state.kind}`;
}

export function domainContext(state: DomainState): DomainContext {
  return `domain:${state}`;
}

/** a KubeVirt VM's row: its own context, so that no action of Ferry's is offered on it (KubeVirt owns it) */
export function kubevirtDomainContext(state: DomainState): KubevirtDomainContext {
  return `kubevirt:${state}`;
}

export function kubevirtNamespaceTreeItem(node: KubevirtNamespaceNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.namespace, vscode.TreeItemCollapsibleState.Expanded);
  item.id = `kubevirt:${node.alias}:${node.namespace}`;
  item.contextValue = 'namespace:kubevirt';
  item.iconPath = icon(['symbol-namespace', 'charts.purple']);
  item.description = vscode.l10n.t('KubeVirt · {0} of {1} running', node.running, node.pods);
  item.accessibilityInformation = { label: `${node.namespace}, ${item.description}` };
  item.tooltip = vscode.l10n.t(
    'Namespace {0}: VMs KubeVirt runs on {1}, one virt-launcher pod each. Ferry reads them and never acts on them.',
    node.namespace,
    node.alias,
  );
  return item;
}

export function messageContext(node: MessageNode): MessageContext {
  return node.retry ? 'message:retry' : 'message:info';
}

export function hostTreeItem(inventory: HostInventory, staleQemu = 0): vscode.TreeItem {
  const state = inventory.connection.state;
  const item = new vscode.TreeItem(inventory.alias, vscode.TreeItemCollapsibleState.Expanded);
  item.id = `host:${inventory.alias}`;
  item.contextValue = hostContext(state);
  const domains = inventory.domains;
  switch (state.kind) {
    case 'connected': {
      const running = domains?.filter((d) => d.state === 'running').length ?? 0;
      item.iconPath = icon(['server', inventory.libvirtError ? 'list.warningForeground' : 'testing.iconPassed']);
      item.description = domains
        ? vscode.l10n.t('{0} running · {1} domains', running, domains.length)
        : inventory.libvirtError
          ? vscode.l10n.t('libvirt unavailable')
          : vscode.l10n.t('listing…');
      if (staleQemu)
        item.description += ` · ${
          staleQemu === 1
            ? vscode.l10n.t('{0} runs a replaced QEMU', staleQemu)
            : vscode.l10n.t('{0} run a replaced QEMU', staleQemu)
        }`;
      break;
    }
    case 'connecting':
      item.iconPath = new vscode.ThemeIcon('loading~spin');
      item.description = vscode.l10n.t('connecting…');
      break;
    case 'failed':
      item.iconPath = icon(['server', 'list.errorForeground']);
      item.description = state.retryAt ? vscode.l10n.t('unreachable, retrying') : vscode.l10n.t('not connected');
      break;
    case 'disconnected':
      item.iconPath = icon(['server', 'disabledForeground']);
      item.description = vscode.l10n.t('disconnected');
      break;
  }
  item.tooltip = `${inventory.alias} — ${item.description}`;
  return item;
}

export function domainTreeItem(node: DomainNode): vscode.TreeItem {
  const d = node.migration ? { ...node.domain, state: 'migrating' as const } : node.domain;
  const pod = d.kubevirt;
  // collapsed: expanding reads its interfaces (not part of the listing, which stays one virsh call per host); a
  // KubeVirt VM's interfaces are KubeVirt's: nothing to expand
  const item = new vscode.TreeItem(
    pod ? pod.vm : d.name,
    pod ? vscode.TreeItemCollapsibleState.None : vscode.TreeItemCollapsibleState.Collapsed,
  );
  item.id = `domain:${node.alias}:${d.uuid}`;
  item.contextValue = pod ? kubevirtDomainContext(d.state) : domainContext(d.state);
  item.iconPath = icon(STATE_ICON[d.state]);
  const m = node.migration;
  const parts = [
    !m
      ? node.runsOn
        ? vscode.l10n.t('{0}, runs on {1}', stateLabel(d.state), node.runsOn)
        : stateLabel(d.state)
      : m.direction === 'inPlace'
        ? vscode.l10n.t('{0} {1}%', m.step ?? vscode.l10n.t('moving in place'), m.percent)
        : `${
            m.direction === 'to'
              ? vscode.l10n.t('migrating to {0} {1}%', m.peer, m.percent)
              : vscode.l10n.t('migrating from {0} {1}%', m.peer, m.percent)
          }${m.step ? ` (${m.step})` : ''}`,
  ];
  if (d.vcpus !== undefined) parts.push(vscode.l10n.t('{0} vCPU', d.vcpus));
  const memory = formatMemory(d.memoryKiB);
  if (memory) parts.push(memory);
  if (d.ips.length) parts.push(d.ips.join(', '));
  if (d.heardIps.length) parts.push(vscode.l10n.t('{0} (heard)', d.heardIps.join(', ')));
  if (node.staleQemu) parts.push(node.staleQemu);
  if (pod?.qemu) parts.push(vscode.l10n.t('QEMU uid {0}, CapEff {1}', pod.qemu.uid, formatCaps(pod.qemu.capEff)));
  if (pod) parts.push(vscode.l10n.t('virt-launcher pid {0}', pod.launcherPid));
  item.description = parts.join(' · ');
  if (node.staleQemu && !node.migration) item.iconPath = icon(['vm-running', 'list.warningForeground']);
  // icons on from the start: appendText then escapes a name's own $(…) (set afterwards, it would render them)
  const tooltip = new vscode.MarkdownString(undefined, true);
  tooltip.appendText(`${d.name}\n`);
  if (pod)
    tooltip.appendText(
      `${vscode.l10n.t('KubeVirt VM {0}/{1}: KubeVirt owns it, Ferry only reads it', pod.namespace, pod.vm)}\n`,
    );
  // "<state> on" is Ferry's own text (markdown); the host's alias follows it as text
  tooltip.appendMarkdown(`\n$(${STATE_ICON[d.state][0]}) ${vscode.l10n.t('{0} on', stateLabel(d.state))} `);
  tooltip.appendText(`${node.alias}\n\n`); // appendText escapes markdown and, icons being on, $(…)
  if (node.runsOn && !m)
    tooltip.appendText(
      `${vscode.l10n.t(
        'A domain of this UUID runs on {0}: this is its definition left here (a migration keeps it on the source). Starting it would run a second copy on the same disks.',
        node.runsOn,
      )}\n\n`,
    );
  tooltip.appendText(`${vscode.l10n.t('UUID {0}', d.uuid)}\n${parts.slice(1).join(' · ')}`);
  item.tooltip = tooltip;
  item.accessibilityInformation = {
    label: vscode.l10n.t('{0}, {1}, on {2}', pod ? pod.vm : d.name, item.description, node.alias),
  };
  return item;
}

export function messageTreeItem(node: MessageNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
  item.id = `message:${node.alias}${node.under ? `:${node.under}` : ''}`;
  item.contextValue = messageContext(node);
  item.iconPath = icon(node.retry ? ['warning', 'list.warningForeground'] : ['info']);
  item.tooltip = node.detail ? `${node.text}\n\n${node.detail}` : node.text;
  if (node.retry) item.command = { command: Commands.hostConnect, title: vscode.l10n.t('Connect'), arguments: [node] };
  return item;
}

/** contextValue of an interface: whether it takes QoS, runs (has a device to watch), and has a limit to remove */
export function interfaceContext(node: InterfaceNode): InterfaceContext {
  const i = node.iface;
  const limited = DIRECTIONS.some((d) => i.bandwidth[d]);
  return `interface:${QOS_INTERFACE_TYPES.includes(i.type) ? 'qos' : 'noqos'}:${node.domain.state === 'running' && i.device ? 'running' : 'stopped'}:${limited ? 'limited' : 'open'}`;
}

export function interfaceTreeItem(node: InterfaceNode, unit: RateUnit): vscode.TreeItem {
  const i = node.iface;
  const item = new vscode.TreeItem(i.mac, vscode.TreeItemCollapsibleState.None);
  item.id = `interface:${node.alias}:${node.domain.uuid}:${i.mac}`;
  item.contextValue = interfaceContext(node);
  const limits = QOS_INTERFACE_TYPES.includes(i.type)
    ? describeLimits(i.bandwidth, unit)
    : vscode.l10n.t('no QoS on this type');
  const where = [i.model, `${i.type}${i.source ? ` ${i.source}` : ''}`, i.device].filter(Boolean);
  item.description = [...where, limits, ...(i.kernelProblems.length ? [vscode.l10n.t('not enforced')] : [])].join(
    ' · ',
  );
  item.iconPath = i.kernelProblems.length
    ? icon(['warning', 'list.warningForeground'])
    : icon(['plug', limits === 'no limit' ? undefined : 'charts.blue']);
  const tooltip = new vscode.MarkdownString(undefined, true);
  tooltip.appendText(
    `${vscode.l10n.t('{0} on {1}', i.mac, node.domain.name)}\n\n${where.join(' · ')}\n\n${vscode.l10n.t('Limits: {0}', limits)}`,
  );
  for (const p of i.kernelProblems) {
    tooltip.appendMarkdown('\n\n$(warning) ');
    tooltip.appendText(p);
  }
  item.tooltip = tooltip;
  item.accessibilityInformation = { label: vscode.l10n.t('interface {0}, {1}', i.mac, item.description) };
  return item;
}
