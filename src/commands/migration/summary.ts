/** The completion summary shown in the notification and written to the log. */
import * as vscode from 'vscode';
import { headerRunOf, legsOf } from '../../core/migration/header';
import { describeOptions, formatBytes, formatRate } from '../../core/migration/job';
import type { MigrationRecord } from '../../core/migration/record';
import { route } from '../../core/migration/record';

export function summarize(r: MigrationRecord): string[] {
  const s = r.summary;
  const rates = r.samples.map((x) => x.bps).filter((x) => x > 0);
  const lines = [`${r.domainName}: ${route(r).join(' → ')} ${r.phase}${r.error ? ` (${r.error})` : ''}`];
  const wall = r.finishedAt ? vscode.l10n.t('{0} s wall', ((r.finishedAt - r.startedAt) / 1000).toFixed(1)) : '';
  if (r.parts?.length) {
    // an operation's joined migrations: each leg, then the whole (its summary sums the legs', see joinParts)
    const legs = legsOf(headerRunOf(r));
    for (const l of legs) {
      lines.push(
        vscode.l10n.t(
          '{0}: {1} → {2} {3}, {4}, {5} sent',
          String(l.name),
          l.source,
          l.target,
          l.phase,
          l.downtimeMs !== undefined
            ? vscode.l10n.t('paused {0} ms', l.downtimeMs)
            : vscode.l10n.t('no pause measured'),
          formatBytes(l.dataProcessed),
        ),
      );
    }
    if (s) {
      const seconds = (s.timeElapsedMs ?? 0) / 1000;
      lines.push(
        vscode.l10n.t(
          'in all {0} ms ({1}), paused {2} = {3} ms, {4} sent, {5} iterations',
          String(s.timeElapsedMs),
          wall,
          legs.map((l) => vscode.l10n.t('{0} ms', l.downtimeMs ?? '?')).join(' + '),
          s.downtimeMs ?? '?',
          formatBytes(s.dataProcessed),
          s.iteration ?? '?',
        ),
        vscode.l10n.t(
          'throughput average {0} (the time between the legs included), peak {1}',
          formatRate(seconds > 0 && s.dataProcessed ? s.dataProcessed / seconds : undefined),
          formatRate(Math.max(0, ...rates)),
        ),
      );
    } else if (wall) lines.push(wall);
  } else if (s) {
    const seconds = (s.timeElapsedMs ?? 0) / 1000;
    const average = seconds > 0 && s.dataProcessed ? s.dataProcessed / seconds : s.memoryBps;
    lines.push(
      vscode.l10n.t(
        'total {0} ms ({1}), downtime {2} ms, setup {3} ms, {4} sent of {5}, {6} iterations',
        String(s.timeElapsedMs),
        wall,
        s.downtimeMs ?? '?',
        s.setupTimeMs ?? '?',
        formatBytes(s.dataProcessed),
        formatBytes(s.dataTotal),
        s.iteration ?? '?',
      ),
      vscode.l10n.t(
        'throughput average {0}, peak {1}',
        formatRate(average),
        formatRate(Math.max(s.memoryBps ?? 0, ...rates)),
      ),
    );
  } else if (wall) lines.push(wall);
  if (r.gate) {
    const g = r.gate;
    const copied = g.bulkNotLoaded
      ? vscode.l10n.t('the copy while memory moved failed, its {0} flows loaded at the switchover', g.bulkNotLoaded)
      : vscode.l10n.t('{0} flows copied while memory moved', g.bulkEntries ?? '?');
    const missing = g.missing
      ? `, ${vscode.l10n.t('{0} flows not confirmed when resumed', g.missing)}${g.budgetExceeded ? ` ${vscode.l10n.t('(budget exceeded)')}` : ''}`
      : '';
    lines.push(
      vscode.l10n.t(
        'TCP connections: {0}, {1} new or changed ones at the switchover, extra pause {2} ms',
        copied,
        g.finalChanged ?? '?',
        g.extraPauseMs ?? '?',
      ) +
        missing +
        (g.error ? ` (${g.error})` : ''),
    );
  }
  for (const f of r.findings?.filter((x) => x.id.startsWith('qos-')) ?? []) lines.push(`${f.title}: ${f.evidence}`);
  lines.push(
    vscode.l10n.t(
      'options: {0}',
      r.options ? describeOptions(r.options) : vscode.l10n.t('unknown (not started by Ferry)'),
    ),
  );
  const v = (x?: { libvirt?: string; hypervisor?: string }) =>
    x ? vscode.l10n.t('libvirt {0}, {1}', x.libvirt ?? '?', x.hypervisor ?? '?') : '?';
  if (r.sourceVersions || r.targetVersions)
    lines.push(
      vscode.l10n.t('versions: {0} {1}; {2} {3}', r.source, v(r.sourceVersions), r.target, v(r.targetVersions)),
    );
  return lines;
}
