/**
 * Migrations rebuilt from the series recorded in the lab (test/fixtures/series/), for the tests of records, joined
 * runs and what the monitor and the notifications say about them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobStats } from '../../src/core/migration/job';
import type { Sample } from '../../src/core/migration/monitor';
import type { MigrationPhase, MigrationRecord } from '../../src/core/migration/record';
import { next, plannedRecord } from '../../src/core/migration/record';

export interface RecordedSeries {
  name: string;
  phase: MigrationPhase;
  samples: Sample[];
  /** the completed job's statistics, for the runs that completed */
  summary?: JobStats;
}

const dir = join(__dirname, '..', 'fixtures', 'series');
export const series: RecordedSeries[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as RecordedSeries);
export const seriesNamed = (name: string) => series.find((s) => s.name === name)!;

/** a recorded sample as the job reading it came from */
export const reading = (s: Sample): JobStats => ({
  type: 'unbounded',
  timeElapsedMs: s.t,
  memoryBps: s.bps,
  dirtyRate: s.dirtyBps / 4096,
  pageSize: 4096,
  dataRemaining: s.remaining,
  dataProcessed: s.processed,
  dataTotal: s.total,
  iteration: s.iteration,
  downtimeMs: s.expectedDowntimeMs,
  postcopyRequests: s.postcopyRequests,
  raw: s.throttle === undefined ? {} : { auto_converge_throttle: s.throttle },
});

export const UUID = '1d8804d1-ecca-43d9-9b8e-ae30c31ff75b';
export const fresh = () =>
  plannedRecord({
    id: `${UUID}-1`,
    domainUuid: UUID,
    domainName: 'tiny1',
    source: 'hostA',
    target: 'hostB',
    startedAt: 1,
  });

export interface LegOptions {
  source: string;
  target: string;
  /** ms since the epoch (the record's id ends with it) */
  startedAt: number;
  step: string;
  /** the switchover's pause; the recorded summary's when not given */
  downtimeMs?: number;
  /** stop at this host time, still running: the readings up to it and no end */
  until?: number;
}

/**
 * A recorded series run through next() as one migration of an operation ("upgrade-x"): launched, sampled, and
 * (unless stopped `until` a time) completed with the recorded summary, or one made from its last sample.
 */
export function leg(s: RecordedSeries, o: LegOptions): MigrationRecord {
  let r: MigrationRecord = next(
    {
      ...fresh(),
      id: `${UUID}-${o.startedAt}`,
      source: o.source,
      target: o.target,
      startedAt: o.startedAt,
      operationId: 'upgrade-x',
      operationStep: o.step,
    },
    { kind: 'launched' },
  );
  for (const sample of s.samples) {
    if (o.until !== undefined && sample.t > o.until) return r;
    r = next(r, { kind: 'sampled', stats: reading(sample) }, o.startedAt + sample.t);
  }
  if (o.until !== undefined) return r;
  const last = s.samples.at(-1)!;
  const recorded = s.summary ?? {
    type: 'completed',
    timeElapsedMs: last.t,
    dataProcessed: last.processed,
    iteration: last.iteration,
    raw: {},
  };
  const summary: JobStats = { ...recorded, downtimeMs: o.downtimeMs ?? recorded.downtimeMs };
  return next(r, {
    kind: 'ended',
    exitCode: 0,
    errorText: '',
    abortRequested: false,
    at: o.startedAt + (summary.timeElapsedMs ?? last.t),
    summary,
  });
}
