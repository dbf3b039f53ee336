/** Tree nodes are plain data with stable ids; TreeItems are derived from them. */
import * as vscode from 'vscode';
import type { Domain, DomainState } from '../core/domain';
import type { RateUnit } from '../core/qos';
import { describeLimits, DIRECTIONS, QOS_INTERFACE_TYPES } from '../core/qos';
import type { HostInventory } from '../services/inventory';
import type { InterfaceState } from '../services/qos';
import type { ConnectionState } from '../transport/hostConnection';
import { Commands } from '../vscode/contributions';
import type { DomainContext, HostContext, InterfaceContext, MessageContext } from '../vscode/contributions';

export interface HostNode {
  kind: 'host';
  alias: string;
}
export interface DomainNode {
  kind: 'domain';
  alias: string;
  domain: Domain;
  /** a migration Ferry runs for this domain, seen from this host */
  migration?: { direction: 'to' | 'from'; peer: string; percent: number; step?: string };
  /** it runs a QEMU that was replaced on disk: what differs ("runs QEMU 10.0.2, 10.0.3 installed") */
  staleQemu?: string;
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
export type TreeNode = HostNode | DomainNode | InterfaceNode | MessageNode;

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

const STATE_LABEL: Record<DomainState, string> = {
  running: 'running',
  blocked: 'blocked',
  paused: 'paused',
  shutdown: 'shutting down',
  shutoff: 'shut off',
  crashed: 'crashed',
  pmsuspended: 'suspended',
  migrating: 'migrating',
  nostate: 'no state',
};

const icon = ([id, color]: [string, string?]) =>
  new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);

export function formatMemory(kib: number | undefined): string | undefined {
  if (kib === undefined) return undefined;
  const mib = kib / 1024;
  return mib >= 1024 ? `${(mib / 1024).toFixed(mib % 1024 ? 1 : 0)} GiB` : `${Math.round(mib)} MiB`;
}

export function hostContext(state: ConnectionState): HostContext {
  return `host:${state.kind}`;
}

export function domainContext(state: DomainState): DomainContext {
  return `domain:${state}`;
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
        ? `${running} running · ${domains.length} domains`
        : inventory.libvirtError
          ? 'libvirt unavailable'
          : 'listing…';
      if (staleQemu) item.description += ` · ${staleQemu} run${staleQemu === 1 ? 's' : ''} a replaced QEMU`;
      break;
    }
    case 'connecting':
      item.iconPath = new vscode.ThemeIcon('loading~spin');
      item.description = 'connecting…';
      break;
    case 'failed':
      item.iconPath = icon(['server', 'list.errorForeground']);
      item.description = state.retryAt ? 'unreachable, retrying' : 'not connected';
      break;
    case 'disconnected':
      item.iconPath = icon(['server', 'disabledForeground']);
      item.description = 'disconnected';
      break;
  }
  item.tooltip = `${inventory.alias} — ${item.description}`;
  return item;
}

export function domainTreeItem(node: DomainNode): vscode.TreeItem {
  const d = node.migration ? { ...node.domain, state: 'migrating' as const } : node.domain;
  // collapsed: expanding reads its interfaces (not part of the listing, which stays two virsh calls per host)
  const item = new vscode.TreeItem(d.name, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `domain:${node.alias}:${d.uuid}`;
  item.contextValue = domainContext(d.state);
  item.iconPath = icon(STATE_ICON[d.state]);
  const m = node.migration;
  const parts = [
    m ? `migrating ${m.direction} ${m.peer} ${m.percent}%${m.step ? ` (${m.step})` : ''}` : STATE_LABEL[d.state],
  ];
  if (d.vcpus !== undefined) parts.push(`${d.vcpus} vCPU`);
  const memory = formatMemory(d.memoryKiB);
  if (memory) parts.push(memory);
  if (d.ips.length) parts.push(d.ips.join(', '));
  if (d.heardIps.length) parts.push(`${d.heardIps.join(', ')} (heard)`);
  if (node.staleQemu) parts.push(node.staleQemu);
  item.description = parts.join(' · ');
  if (node.staleQemu && !node.migration) item.iconPath = icon(['vm-running', 'list.warningForeground']);
  // icons on from the start: appendText then escapes a name's own $(…) (set afterwards, it would render them)
  const tooltip = new vscode.MarkdownString(undefined, true);
  tooltip.appendText(`${d.name}\n`);
  tooltip.appendMarkdown(`\n$(${STATE_ICON[d.state][0]}) ${STATE_LABEL[d.state]} on `);
  tooltip.appendText(`${node.alias}\n\n`); // appendText escapes markdown and, icons being on, $(…)
  tooltip.appendText(`UUID ${d.uuid}\n${parts.slice(1).join(' · ')}`);
  item.tooltip = tooltip;
  item.accessibilityInformation = { label: `${d.name}, ${item.description}, on ${node.alias}` };
  return item;
}

export function messageTreeItem(node: MessageNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
  item.id = `message:${node.alias}${node.under ? `:${node.under}` : ''}`;
  item.contextValue = messageContext(node);
  item.iconPath = icon(node.retry ? ['warning', 'list.warningForeground'] : ['info']);
  item.tooltip = node.detail ? `${node.text}\n\n${node.detail}` : node.text;
  if (node.retry) item.command = { command: Commands.hostConnect, title: 'Connect', arguments: [node] };
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
  const limits = QOS_INTERFACE_TYPES.includes(i.type) ? describeLimits(i.bandwidth, unit) : 'no QoS on this type';
  const where = [i.model, `${i.type}${i.source ? ` ${i.source}` : ''}`, i.device].filter(Boolean);
  item.description = [...where, limits, ...(i.kernelProblems.length ? ['not enforced'] : [])].join(' · ');
  item.iconPath = i.kernelProblems.length
    ? icon(['warning', 'list.warningForeground'])
    : icon(['plug', limits === 'no limit' ? undefined : 'charts.blue']);
  const tooltip = new vscode.MarkdownString(undefined, true);
  tooltip.appendText(`${i.mac} on ${node.domain.name}\n\n${where.join(' · ')}\n\nLimits: ${limits}`);
  for (const p of i.kernelProblems) {
    tooltip.appendMarkdown('\n\n$(warning) ');
    tooltip.appendText(p);
  }
  item.tooltip = tooltip;
  item.accessibilityInformation = { label: `interface ${i.mac}, ${item.description}` };
  return item;
}
