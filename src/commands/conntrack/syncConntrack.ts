/** Sync Conntrack…: a VM's flow state from one host to another, with a preview of the entry count first. */
import * as vscode from 'vscode';
import { addressListProblem } from '../../core/conntrack';
import { netfilterBackend, syncConntrack } from '../../services/conntrack';
import type { CommandContext } from '../context';
import { notify, withProgress } from '../../vscode/notify';
import { UserCancelled } from '../../vscode/userInput';
import type { DomainNode, HostNode } from '../../views/nodes';
import { addressPrompt, pickHost, refuseKubevirt } from '../pickers';

export async function syncConntrackCommand(ctx: CommandContext, node?: DomainNode | HostNode): Promise<void> {
  refuseKubevirt(node);
  const source = node
    ? ctx.registry.get(node.alias)!
    : await pickHost(
        ctx,
        vscode.l10n.t('Ferry: Sync Conntrack — from'),
        (h) => h.connection.state.kind === 'connected',
      );
  const target = await pickHost(
    ctx,
    vscode.l10n.t('Ferry: Sync Conntrack — from {0} to', source.alias),
    (h) => h.alias !== source.alias && h.connection.state.kind === 'connected',
  );
  const domain = node?.kind === 'domain' ? node.domain : undefined;
  const known = domain ? addressPrompt(source.alias, await source.addressesOf(domain.uuid)) : { value: '', note: '' };
  const typed = await ctx.ui.askText({
    title: domain
      ? vscode.l10n.t("Ferry: Sync Conntrack — {0}'s addresses", domain.name)
      : vscode.l10n.t("Ferry: Sync Conntrack — the VM's addresses"),
    prompt: vscode.l10n.t(
      'IPv4/IPv6 addresses, separated by spaces or commas: flows with any of them as source or destination are copied. {0}',
      known.note,
    ),
    value: known.value,
    validateInput: (text) => addressListProblem(text, domain ? source.domainsOtherThan(domain.uuid) : []),
  });
  if (typed === undefined) throw new UserCancelled();
  const addresses = typed.split(/[\s,]+/).filter(Boolean);
  await Promise.all([netfilterBackend.check(source.connection), netfilterBackend.check(target.connection)]);
  const preview = await netfilterBackend.export(source.connection, addresses);
  const go = vscode.l10n.t('Sync');
  const answer = await ctx.ui.askModal(
    'info',
    vscode.l10n.t(
      '{0} conntrack entries for {1} on {2}. Copy them to {3}?',
      preview.flows.length,
      addresses.join(', '),
      source.alias,
      target.alias,
    ),
    vscode.l10n.t(
      'Entries the target lacks are added (conntrack -R; entries it already holds are left as they are, so it is safe to repeat); nothing is deleted on either host. The check afterwards names entries the target holds in another state.',
    ),
    go,
  );
  if (answer !== go) throw new UserCancelled();
  const report = await withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: vscode.l10n.t('Ferry: syncing conntrack {0} → {1}…', source.alias, target.alias),
    },
    () => syncConntrack(netfilterBackend, source.connection, target.connection, addresses),
  );
  const done = vscode.l10n.t(
    'Conntrack {0} → {1}: {2} entries, {3} KiB; listed and loaded as listed {4} ms, load done {5} ms later, verified {6} ms ({7})',
    source.alias,
    target.alias,
    report.entries,
    (report.bytes / 1024).toFixed(0),
    report.exportMs.toFixed(0),
    report.importMs.toFixed(0),
    report.verifyMs.toFixed(0),
    report.proven ? vscode.l10n.t('digest') : vscode.l10n.t('flow by flow'),
  );
  const verdict = report.missing
    ? vscode.l10n.t('{0} entries are NOT on the target', report.missing)
    : vscode.l10n.t('all verified on the target');
  const text = `${done}; ${verdict}`;
  ctx.log.info(text);
  void notify(report.missing ? 'warning' : 'info', text);
}
