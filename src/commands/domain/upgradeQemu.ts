/**
 * "Upgrade QEMU Under Running Domains…": on a host (its running domains), on selected domains, or from the palette.
 * Shows the plan first (method, why, expected pause per domain); nothing moves until it is accepted. Domains go one
 * at a time; Cancel stops after the current one, every domain left running.
 */
import * as vscode from 'vscode';
import type { Domain } from '../../core/domain';
import { PROFILES } from '../../core/migration/job';
import type { MigrationDecisions } from '../../services/migration/plan';
import { livePlanDeps } from '../../services/migration';
import type { UpgradeOutcome, UpgradeRow } from '../../services/qemuUpgrade';
import { inPlace, planUpgrade, roundTrip, saveAndRestore } from '../../services/qemuUpgrade';
import type { DomainNode, HostNode } from '../../views/nodes';
import type { CommandContext } from '../context';
import { notify, withProgress } from '../../vscode/notify';
import { UserCancelled } from '../../vscode/userInput';
import { pickHost, selectedNodes } from '../pickers';
import { progressText } from './migrate';

const title = () => vscode.l10n.t('Ferry: Upgrade QEMU Under Running Domains');
const live = (d: Domain) => d.state === 'running' || d.state === 'paused';

function chosenDomains(ctx: CommandContext, clicked: unknown, selected: unknown): { alias: string; domain: Domain }[] {
  const fromDomains = selectedNodes<DomainNode>(clicked, selected, 'domain').map((n) => ({
    alias: n.alias,
    domain: n.domain,
  }));
  const fromHosts = selectedNodes<HostNode>(clicked, selected, 'host').flatMap((h) =>
    (ctx.registry.get(h.alias)?.domains ?? []).map((domain) => ({ alias: h.alias, domain })),
  );
  return [...fromDomains, ...fromHosts].filter((d) => live(d.domain));
}

const METHOD: Record<UpgradeRow['method'], (r: UpgradeRow) => string> = {
  inPlace: (r) => vscode.l10n.t('in place on {0}', r.alias),
  roundTrip: (r) => vscode.l10n.t('round trip via {0}', String(r.peer)),
  saveRestore: () => vscode.l10n.t('save and restore on the same host'),
  none: () => vscode.l10n.t('left as it is'),
};

export function planText(rows: readonly UpgradeRow[]): string {
  return rows
    .map((r) =>
      vscode.l10n.t(
        '{0} on {1}: {2}. {3}. Expected guest pause: {4}.',
        r.domain.name,
        r.alias,
        METHOD[r.method](r),
        r.why,
        r.expectedPause,
      ),
    )
    .join('\n\n');
}

export async function upgradeQemu(
  ctx: CommandContext,
  clicked?: unknown,
  selected?: unknown,
): Promise<UpgradeOutcome[]> {
  let domains = chosenDomains(ctx, clicked, selected);
  if (!domains.length && !clicked) {
    const host = await pickHost(ctx, title(), (h) => h.connection.state.kind === 'connected');
    domains = (host.domains ?? []).filter(live).map((domain) => ({ alias: host.alias, domain }));
  }
  if (!domains.length) throw new Error(vscode.l10n.t('{0}: no running domain among those chosen.', title()));
  const profile = await ctx.ui.pickOne(
    (['safe', 'fast'] as const).map((id) => ({ label: PROFILES[id].label, detail: PROFILES[id].detail, id })),
    {
      title: title(),
      placeHolder: vscode.l10n.t('How each leg of a round trip migrates (in place has its own settings)'),
    },
  );
  if (!profile) throw new UserCancelled();
  const options = PROFILES[profile.id].options;
  const deps = livePlanDeps(ctx.registry, ctx.migrations, ctx.libvirtUri(), ctx.conntrackBudgetMs(), ctx.log);
  const rows = await withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: vscode.l10n.t('Ferry: reading QEMU binaries and checking peers…'),
    },
    () =>
      planUpgrade(
        ctx.registry,
        ctx.qemu,
        domains,
        deps.preflight,
        options,
        ctx.inPlace() ? { uri: ctx.libvirtUri() } : undefined,
      ),
  );
  const plan = planText(rows);
  ctx.log.info(`qemu upgrade plan:\n${plan}`);
  let todo = rows.filter((r) => r.method !== 'none');
  if (!todo.length) {
    void notify(
      'info',
      vscode.l10n.t('Nothing to upgrade: {0}.', rows.map((r) => `${r.domain.name} ${r.why}`).join('; ')),
    );
    return [];
  }
  const go = vscode.l10n.t('Upgrade');
  const answer = await ctx.ui.askModal(
    'info',
    todo.length === 1
      ? vscode.l10n.t('Upgrade QEMU under {0}?', todo[0].domain.name)
      : vscode.l10n.t('Upgrade QEMU under {0} domains?', todo.length),
    plan,
    go,
  );
  if (answer !== go) throw new UserCancelled();
  // a save and restore pauses the guest for seconds: past the user's limit, each is asked about again
  const limitMs = ctx.saveRestoreMaxPauseSeconds() * 1000;
  const kept: UpgradeRow[] = [];
  for (const row of todo) {
    if (row.method !== 'saveRestore' || (row.expectedPauseMs ?? 0) <= limitMs) kept.push(row);
    else {
      const anyway = vscode.l10n.t('Save and Restore Anyway');
      const detail = vscode.l10n.t(
        'Expected pause {0}, over your limit of {1} s (ferry.qemu.saveRestoreMaxPauseSeconds).',
        row.expectedPause,
        limitMs / 1000,
      );
      const question = vscode.l10n.t(
        '{0} would be paused for ~{1} s.',
        row.domain.name,
        ((row.expectedPauseMs ?? 0) / 1000).toFixed(0),
      );
      if ((await ctx.ui.askModal('warning', question, detail, anyway)) === anyway) kept.push(row);
    }
  }
  todo = kept;
  const decisions: MigrationDecisions = {
    duringPreflight: (work) => work(),
    preflightFailed: (failed, checklist) =>
      ctx.log.warn(`qemu upgrade: preflight failed (${failed.map((c) => c.title).join(', ')}):\n${checklist}`),
    acceptWarnings: async () => true,
    addresses: async () => undefined,
    rememberOptions: async () => undefined,
  };
  const outcomes: UpgradeOutcome[] = [];
  await withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Upgrading QEMU'), cancellable: true },
    async (progress, token) => {
      for (const [i, row] of todo.entries()) {
        if (token.isCancellationRequested) break; // between domains: every one is left running where it is
        const of = todo.length > 1 ? ` ${vscode.l10n.t('({0} of {1})', i + 1, todo.length)}` : '';
        const host = ctx.registry.get(row.alias);
        if (row.method === 'saveRestore')
          progress.report({
            message: vscode.l10n.t(
              '{0}{1}: saving and restoring on {2} (~{3} s paused)',
              row.domain.name,
              of,
              row.alias,
              ((row.expectedPauseMs ?? 0) / 1000).toFixed(1),
            ),
          });
        const work =
          row.method === 'saveRestore' && host
            ? saveAndRestore(host.connection, ctx.libvirtUri(), ctx.qemu, row)
            : row.method === 'inPlace' && host
              ? inPlace(
                  { host: host.connection, follow: deps.follow, log: ctx.log },
                  ctx.qemu,
                  row,
                  ctx.inPlacePostcopy(),
                  (hop, record, done) => {
                    const hopText = vscode.l10n.t(
                      '{0}{1}: in place on {2}, hop {3} of 2',
                      row.domain.name,
                      of,
                      row.alias,
                      hop,
                    );
                    progress.report({ message: hopText });
                    ctx.panels.open(record, { preserveFocus: true });
                    const sub = ctx.migrations.onDidChange(
                      (r) => r.id === record.id && progress.report({ message: `${hopText} · ${progressText(r)}` }),
                    );
                    void done.finally(() => sub.dispose());
                  },
                )
              : roundTrip(deps, ctx.qemu, row, profile.id, options, decisions, (leg, record, done) => {
                  const legText = vscode.l10n.t(
                    '{0}{1}: leg {2} of 2, {3} → {4}',
                    row.domain.name,
                    of,
                    leg,
                    record.source,
                    record.target,
                  );
                  progress.report({ message: legText });
                  ctx.panels.open(record, { preserveFocus: true });
                  // the leg's own progress, as a migration's notification shows it (percent, data, rate, iteration)
                  const sub = ctx.migrations.onDidChange(
                    (r) => r.id === record.id && progress.report({ message: `${legText} · ${progressText(r)}` }),
                  );
                  void done.finally(() => sub.dispose());
                });
        const outcome = await work.catch((e: Error): UpgradeOutcome => ({
          ok: false,
          where: row.alias,
          legs: [],
          message: vscode.l10n.t('{0} stayed on {1}: {2}', row.domain.name, row.alias, e.message),
        }));
        outcomes.push(outcome);
        ctx.log.info(`qemu upgrade: ${outcome.message}`);
        void notify(outcome.ok ? 'info' : 'error', outcome.message);
      }
    },
  );
  return outcomes;
}
