/** Sync Conntrack…: a VM's flow state from one host to another, with a preview of the entry count first. */
import * as vscode from 'vscode';
import { addressListProblem } from '../../core/conntrack';
import { netfilterBackend, syncConntrack } from '../../services/conntrack';
import type { CommandContext } from '../context';
import { notify, withProgress } from '../../vscode/notify';
import { UserCancelled } from '../../vscode/userInput';
import type { DomainNode, HostNode } from '../../views/nodes';
import { addressPrompt, pickHost } from '../pickers';

export async function syncConntrackCommand(ctx: CommandContext, node?: DomainNode | HostNode): Promise<void> {
  const source = node
    ? ctx.registry.get(node.alias)!
    : await pickHost(ctx, 'Ferry: Sync Conntrack — from', (h) => h.connection.state.kind === 'connected');
  const target = await pickHost(
    ctx,
    `Ferry: Sync Conntrack — from ${source.alias} to`,
    (h) => h.alias !== source.alias && h.connection.state.kind === 'connected',
  );
  const domain = node?.kind === 'domain' ? node.domain : undefined;
  const known = domain ? addressPrompt(source.alias, await source.addressesOf(domain.uuid)) : { value: '', note: '' };
  const typed = await ctx.ui.askText({
    title: `Ferry: Sync Conntrack — ${domain ? `${domain.name}'s` : "the VM's"} addresses`,
    prompt: `IPv4/IPv6 addresses, separated by spaces or commas: flows with any of them as source or destination are copied. ${known.note}`,
    value: known.value,
    validateInput: (text) => addressListProblem(text, domain ? source.domainsOtherThan(domain.uuid) : []),
  });
  if (typed === undefined) throw new UserCancelled();
  const addresses = typed.split(/[\s,]+/).filter(Boolean);
  await Promise.all([netfilterBackend.check(source.connection), netfilterBackend.check(target.connection)]);
  const preview = await netfilterBackend.export(source.connection, addresses);
  const go = 'Sync';
  const answer = await ctx.ui.askModal(
    'info',
    `${preview.flows.length} conntrack entries for ${addresses.join(', ')} on ${source.alias}. Copy them to ${target.alias}?`,
    'Entries the target lacks are added (conntrack -R; entries it already holds are left as they are, so it is safe to repeat); nothing is deleted on either host. The check afterwards names entries the target holds in another state.',
    go,
  );
  if (answer !== go) throw new UserCancelled();
  const report = await withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Ferry: syncing conntrack ${source.alias} → ${target.alias}…`,
    },
    () => syncConntrack(netfilterBackend, source.connection, target.connection, addresses),
  );
  const text =
    `Conntrack ${source.alias} → ${target.alias}: ${report.entries} entries, ${(report.bytes / 1024).toFixed(0)} KiB; ` +
    `listed and loaded as listed ${report.exportMs.toFixed(0)} ms, load done ${report.importMs.toFixed(0)} ms later, ` +
    `verified ${report.verifyMs.toFixed(0)} ms (${report.proven ? 'digest' : 'flow by flow'})` +
    (report.missing ? `; ${report.missing} entries are NOT on the target` : '; all verified on the target');
  ctx.log.info(text);
  void notify(report.missing ? 'warning' : 'info', text);
}
