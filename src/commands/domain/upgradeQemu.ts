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
import { planUpgrade, roundTrip, saveAndRestore } from '../../services/qemuUpgrade';
import type { DomainNode, HostNode } from '../../views/nodes';
import type { CommandContext } from '../context';
import { notify, withProgress } from '../../vscode/notify';
import { UserCancelled } from '../../vscode/userInput';
import { pickHost, selectedNodes } from '../pickers';
import { progressText } from './migrate';

const TITLE = 'Ferry: Upgrade QEMU Under Running Domains';
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
  roundTrip: (r) => `round trip via ${r.peer}`,
  saveRestore: () => 'save and restore on the same host',
  none: () => 'left as it is',
};

export function planText(rows: readonly UpgradeRow[]): string {
  return rows
    .map(
      (r) =>
        `${r.domain.name} on ${r.alias}: ${METHOD[r.method](r)}. ${r.why}. Expected guest pause: ${r.expectedPause}.`,
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
    const host = await pickHost(ctx, TITLE, (h) => h.connection.state.kind === 'connected');
    domains = (host.domains ?? []).filter(live).map((domain) => ({ alias: host.alias, domain }));
  }
  if (!domains.length) throw new Error(`${TITLE}: no running domain among those chosen.`);
  const profile = await ctx.ui.pickOne(
    (['safe', 'fast'] as const).map((id) => ({ label: PROFILES[id].label, detail: PROFILES[id].detail, id })),
    { title: TITLE, placeHolder: 'How each leg of a round trip migrates' },
  );
  if (!profile) throw new UserCancelled();
  const options = PROFILES[profile.id].options;
  const deps = livePlanDeps(ctx.registry, ctx.migrations, ctx.libvirtUri(), ctx.conntrackBudgetMs(), ctx.log);
  const rows = await withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Ferry: reading QEMU binaries and checking peers…' },
    () => planUpgrade(ctx.registry, ctx.qemu, domains, deps.preflight, options),
  );
  const plan = planText(rows);
  ctx.log.info(`qemu upgrade plan:\n${plan}`);
  let todo = rows.filter((r) => r.method !== 'none');
  if (!todo.length) {
    void notify('info', `Nothing to upgrade: ${rows.map((r) => `${r.domain.name} ${r.why}`).join('; ')}.`);
    return [];
  }
  const go = 'Upgrade';
  const answer = await ctx.ui.askModal(
    'info',
    `Upgrade QEMU under ${todo.length === 1 ? todo[0].domain.name : `${todo.length} domains`}?`,
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
      const anyway = 'Save and Restore Anyway';
      const detail = `Expected pause ${row.expectedPause}, over your limit of ${limitMs / 1000} s (ferry.qemu.saveRestoreMaxPauseSeconds).`;
      if (
        (await ctx.ui.askModal(
          'warning',
          `${row.domain.name} would be paused for ~${((row.expectedPauseMs ?? 0) / 1000).toFixed(0)} s.`,
          detail,
          anyway,
        )) === anyway
      )
        kept.push(row);
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
    { location: vscode.ProgressLocation.Notification, title: 'Upgrading QEMU', cancellable: true },
    async (progress, token) => {
      for (const [i, row] of todo.entries()) {
        if (token.isCancellationRequested) break; // between domains: every one is left running where it is
        const of = todo.length > 1 ? ` (${i + 1} of ${todo.length})` : '';
        const host = ctx.registry.get(row.alias);
        if (row.method === 'saveRestore')
          progress.report({
            message: `${row.domain.name}${of}: saving and restoring on ${row.alias} (~${((row.expectedPauseMs ?? 0) / 1000).toFixed(1)} s paused)`,
          });
        const work =
          row.method === 'saveRestore' && host
            ? saveAndRestore(host.connection, ctx.libvirtUri(), ctx.qemu, row)
            : roundTrip(deps, ctx.qemu, row, profile.id, options, decisions, (leg, record, done) => {
                const legText = `${row.domain.name}${of}: leg ${leg} of 2, ${record.source} → ${record.target}`;
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
          message: `${row.domain.name} stayed on ${row.alias}: ${e.message}`,
        }));
        outcomes.push(outcome);
        ctx.log.info(`qemu upgrade: ${outcome.message}`);
        void notify(outcome.ok ? 'info' : 'error', outcome.message);
      }
    },
  );
  return outcomes;
}
