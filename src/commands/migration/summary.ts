/** The completion summary shown in the notification and written to the log. */
import { headerRunOf, legsOf } from '../../core/migration/header';
import { describeOptions, formatBytes, formatRate } from '../../core/migration/job';
import type { MigrationRecord } from '../../core/migration/record';
import { route } from '../../core/migration/record';

export function summarize(r: MigrationRecord): string[] {
  const s = r.summary;
  const rates = r.samples.map((x) => x.bps).filter((x) => x > 0);
  const lines = [`${r.domainName}: ${route(r).join(' → ')} ${r.phase}${r.error ? ` (${r.error})` : ''}`];
  const wall = r.finishedAt ? `${((r.finishedAt - r.startedAt) / 1000).toFixed(1)} s wall` : '';
  if (r.parts?.length) {
    // an operation's joined migrations: each leg, then the whole (its summary sums the legs', see joinParts)
    const legs = legsOf(headerRunOf(r));
    for (const l of legs) {
      lines.push(
        `${l.name}: ${l.source} → ${l.target} ${l.phase}, ${l.downtimeMs !== undefined ? `paused ${l.downtimeMs} ms` : 'no pause measured'}, ${formatBytes(l.dataProcessed)} sent`,
      );
    }
    if (s) {
      const seconds = (s.timeElapsedMs ?? 0) / 1000;
      lines.push(
        `in all ${s.timeElapsedMs} ms (${wall}), paused ${legs.map((l) => `${l.downtimeMs ?? '?'} ms`).join(' + ')} = ${s.downtimeMs ?? '?'} ms, ${formatBytes(s.dataProcessed)} sent, ${s.iteration ?? '?'} iterations`,
        `throughput average ${formatRate(seconds > 0 && s.dataProcessed ? s.dataProcessed / seconds : undefined)} (the time between the legs included), peak ${formatRate(Math.max(0, ...rates))}`,
      );
    } else if (wall) lines.push(wall);
  } else if (s) {
    const seconds = (s.timeElapsedMs ?? 0) / 1000;
    const average = seconds > 0 && s.dataProcessed ? s.dataProcessed / seconds : s.memoryBps;
    lines.push(
      `total ${s.timeElapsedMs} ms (${wall}), downtime ${s.downtimeMs ?? '?'} ms, setup ${s.setupTimeMs ?? '?'} ms, ` +
        `${formatBytes(s.dataProcessed)} sent of ${formatBytes(s.dataTotal)}, ${s.iteration ?? '?'} iterations`,
      `throughput average ${formatRate(average)}, peak ${formatRate(Math.max(s.memoryBps ?? 0, ...rates))}`,
    );
  } else if (wall) lines.push(wall);
  if (r.gate) {
    const g = r.gate;
    lines.push(
      `TCP connections: ${g.bulkNotLoaded ? `the copy while memory moved failed, its ${g.bulkNotLoaded} flows loaded at the switchover` : `${g.bulkEntries ?? '?'} flows copied while memory moved`}, ` +
        `${g.finalChanged ?? '?'} new or changed ones at the switchover, extra pause ${g.extraPauseMs ?? '?'} ms` +
        (g.missing
          ? `, ${g.missing} flows not confirmed when resumed${g.budgetExceeded ? ' (budget exceeded)' : ''}`
          : '') +
        (g.error ? ` (${g.error})` : ''),
    );
  }
  for (const f of r.findings?.filter((x) => x.id.startsWith('qos-')) ?? []) lines.push(`${f.title}: ${f.evidence}`);
  lines.push(`options: ${r.options ? describeOptions(r.options) : 'unknown (not started by Ferry)'}`);
  const v = (x?: { libvirt?: string; hypervisor?: string }) =>
    x ? `libvirt ${x.libvirt ?? '?'}, ${x.hypervisor ?? '?'}` : '?';
  if (r.sourceVersions || r.targetVersions)
    lines.push(`versions: ${r.source} ${v(r.sourceVersions)}; ${r.target} ${v(r.targetVersions)}`);
  return lines;
}
