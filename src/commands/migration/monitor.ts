/** Show Migration Monitor, Compare Migration Runs, Import Migration Run. */
import * as vscode from 'vscode';
import type { MigrationRecord } from '../../core/migration/record';
import type { CommandContext } from '../context';
import { UserCancelled } from '../../vscode/userInput';
import type { DomainNode } from '../../views/nodes';
import { importRun } from '../../views/monitorPanel';
import { inert } from '../../core/text';
import { podUri } from '../../core/kubevirt';

/**
 * The monitor of a domain's migration: Ferry's own or one found running (job info on its host says so), else the
 * domain's latest recorded run. From the palette: a running migration, or any recorded run.
 */
export async function showMonitor(ctx: CommandContext, node?: DomainNode): Promise<void> {
  if (node) {
    const run =
      ctx.migrations.findByDomain(node.domain.uuid) ??
      (await ctx.migrations.discover(
        node.alias,
        node.domain.uuid,
        node.domain.name,
        node.domain.kubevirt && podUri(node.domain.kubevirt),
      )) ??
      (await ctx.migrationStore.history(node.domain.uuid)).at(-1);
    if (!run)
      throw new Error(
        vscode.l10n.t('{0} is not migrating, and Ferry has no recorded migration of it.', node.domain.name),
      );
    return ctx.panels.open(run);
  }
  const running = ctx.migrations.running;
  const runs: MigrationRecord[] = [...running, ...(await ctx.migrationStore.allRuns())];
  if (!runs.length)
    throw new Error(
      vscode.l10n.t(
        "No migration is running and none is recorded yet. Start one from a domain's context menu (Migrate…).",
      ),
    );
  const pick =
    runs.length === 1
      ? { run: runs[0] }
      : await ctx.ui.pickOne(
          runs.map((r) => ({
            label: `${running.includes(r) ? '$(sync~spin) ' : ''}${inert(`${r.domainName}: ${r.source} → ${r.target}`)}`,
            description: `${new Date(r.startedAt).toLocaleString()} · ${r.phase}${r.percent && running.includes(r) ? ` ${r.percent}%` : ''}`,
            run: r,
          })),
          { title: vscode.l10n.t('Ferry: Show Migration Monitor'), matchOnDescription: true },
        );
  if (!pick) throw new UserCancelled();
  ctx.panels.open(pick.run);
}

/** Pick two runs (the domain's latest first when started from a domain) and overlay them. */
export async function compareRuns(ctx: CommandContext, node?: DomainNode): Promise<void> {
  const all = await ctx.migrationStore.allRuns();
  if (all.length < 2)
    throw new Error(
      vscode.l10n.t(
        'Comparing needs two finished runs; Ferry has recorded {0}. Import a colleague\'s run with "Ferry: Import Migration Run…".',
        all.length,
      ),
    );
  const first = node ? all.find((r) => r.domainUuid === node.domain.uuid) : undefined;
  const base = first ?? (await pickRun(ctx, all, vscode.l10n.t('Ferry: Compare Migration Runs (A)')));
  await ctx.panels.compareWith(base);
}

async function pickRun(ctx: CommandContext, runs: MigrationRecord[], title: string): Promise<MigrationRecord> {
  const pick = await ctx.ui.pickOne(
    runs.map((r) => ({
      label: inert(`${r.domainName}: ${r.source} → ${r.target}`),
      description: `${new Date(r.startedAt).toLocaleString()} · ${r.phase}${r.imported ? ` · ${vscode.l10n.t('imported')}` : ''}`,
      run: r,
    })),
    { title, matchOnDescription: true },
  );
  if (!pick) throw new UserCancelled();
  return pick.run;
}

export async function importRunCommand(ctx: CommandContext): Promise<void> {
  const run = await importRun(ctx);
  if (!run) throw new UserCancelled();
  ctx.panels.open(run);
}
