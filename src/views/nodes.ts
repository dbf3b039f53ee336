/** Tree nodes are plain data with stable ids; TreeItems are derived from them. */
import * as vscode from 'vscode';
import type { Domain, DomainState } from '../core/domain';
import type { HostInventory } from '../services/inventory';
import type { ConnectionState } from '../transport/hostConnection';
import { Commands } from '../vscode/contributions';
import type { HostContext } from '../vscode/contributions';

export interface HostNode {
  kind: 'host';
  alias: string;
}
export interface DomainNode {
  kind: 'domain';
  alias: string;
  domain: Domain;
  /** a migration Ferry runs for this domain, seen from this host */
  migration?: { direction: 'to' | 'from'; peer: string; percent: number };
}
export interface MessageNode {
  kind: 'message';
  alias: string;
  text: string;
  detail?: string;
  retry: boolean;
}
export type TreeNode = HostNode | DomainNode | MessageNode;

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

const icon = ([id, color]: [string, string?]) => new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);

export function formatMemory(kib: number | undefined): string | undefined {
  if (kib === undefined) return undefined;
  const mib = kib / 1024;
  return mib >= 1024 ? `${(mib / 1024).toFixed(mib % 1024 ? 1 : 0)} GiB` : `${Math.round(mib)} MiB`;
}

export function hostContext(state: ConnectionState): HostContext {
  return `host:${state.kind}`;
}

export function hostTreeItem(inventory: HostInventory): vscode.TreeItem {
  const state = inventory.connection.state;
  const item = new vscode.TreeItem(inventory.alias, vscode.TreeItemCollapsibleState.Expanded);
  item.id = `host:${inventory.alias}`;
  item.contextValue = hostContext(state);
  const domains = inventory.domains;
  switch (state.kind) {
    case 'connected': {
      const running = domains?.filter((d) => d.state === 'running').length ?? 0;
      item.iconPath = icon(['server', inventory.libvirtError ? 'list.warningForeground' : 'testing.iconPassed']);
      item.description = domains ? `${running} running · ${domains.length} domains` : inventory.libvirtError ? 'libvirt unavailable' : 'listing…';
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
  const item = new vscode.TreeItem(d.name, vscode.TreeItemCollapsibleState.None);
  item.id = `domain:${node.alias}:${d.uuid}`;
  item.contextValue = `domain:${d.state}`;
  item.iconPath = icon(STATE_ICON[d.state]);
  const parts = [node.migration ? `migrating ${node.migration.direction} ${node.migration.peer} ${node.migration.percent}%` : STATE_LABEL[d.state]];
  if (d.vcpus !== undefined) parts.push(`${d.vcpus} vCPU`);
  const memory = formatMemory(d.memoryKiB);
  if (memory) parts.push(memory);
  if (d.ips.length) parts.push(d.ips.join(', '));
  if (d.heardIps.length) parts.push(`${d.heardIps.join(', ')} (heard)`);
  item.description = parts.join(' · ');
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
  item.id = `message:${node.alias}`;
  item.contextValue = node.retry ? 'message:retry' : 'message:info';
  item.iconPath = icon(node.retry ? ['warning', 'list.warningForeground'] : ['info']);
  item.tooltip = node.detail ? `${node.text}\n\n${node.detail}` : node.text;
  if (node.retry) item.command = { command: Commands.hostConnect, title: 'Connect', arguments: [node] };
  return item;
}
