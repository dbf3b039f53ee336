/**
 * A running migration as a time series: compact samples taken from `domjobinfo --rawstats`, and what they say —
 * progress that never runs backwards, a smoothed ETA, expected downtime against the limit, and whether the
 * migration converges at all. Pure: the same functions run on live data and on recorded runs.
 */
import type { JobStats } from './job';

export interface Sample {
  /** host ms since the job started (libvirt's time_elapsed: the host's clock, not ours) */
  t: number;
  /** bytes/s the migration stream carries (memory_bps) */
  bps: number;
  /** bytes/s the guest dirties (memory_dirty_rate pages/s × page size); 0 until QEMU has measured it */
  dirtyBps: number;
  /** bytes still to send in this pass (data_remaining) */
  remaining: number;
  processed: number;
  total: number;
  iteration: number;
  /** QEMU's expected downtime if it stopped now, ms */
  expectedDowntimeMs?: number;
  /** auto-converge's CPU throttle, % */
  throttle?: number;
  postcopyRequests?: number;
}

export function toSample(s: JobStats): Sample | undefined {
  if (s.timeElapsedMs === undefined) return undefined;
  return {
    t: s.timeElapsedMs,
    bps: s.memoryBps ?? 0,
    dirtyBps: (s.dirtyRate ?? 0) * (s.pageSize ?? 4096),
    remaining: s.dataRemaining ?? 0,
    processed: s.dataProcessed ?? 0,
    total: s.dataTotal ?? 0,
    iteration: s.iteration ?? 0,
    expectedDowntimeMs: s.downtimeMs,
    throttle: s.raw.auto_converge_throttle,
    postcopyRequests: s.postcopyRequests,
  };
}

/**
 * While a job is being cancelled libvirt can still report it as running with every figure zeroed (seen in the lab:
 * one reading between the abort and the job's end). After readings with a data total, one without is no sample.
 */
export function isZeroedReading(sample: Sample, previous: Sample | undefined): boolean {
  return sample.total === 0 && (previous?.total ?? 0) > 0;
}

/** Things that happened during a run, drawn as marks on the chart (iterations are read from the samples). */
export interface MigrationMarker {
  t: number;
  /** part: where the next migration of a joined run begins */
  kind: 'postcopy' | 'paused' | 'resumed' | 'steer' | 'part' | 'completed' | 'failed' | 'aborted';
  label: string;
}

/** QEMU's default max downtime when none was set */
export const DEFAULT_MAX_DOWNTIME_MS = 300;
/** QEMU's default max-cpu-throttle: auto-converge cannot slow the guest further */
export const MAX_THROTTLE = 99;
/** how long remaining memory may go without a new minimum (or dirtying outrun throughput) before "not converging" */
export const CONVERGENCE_WINDOW_MS = 10_000;
/** QEMU estimates the dirty rate once per iteration; within 10 % of the throughput counts as "at or above" it */
const DIRTY_TOLERANCE = 0.9;
const ETA_TIME_CONSTANT_MS = 3_000;

export type Convergence =
  { state: 'converging' } | { state: 'unknown'; reason: string } | { state: 'not-converging'; reason: string };

export interface Assessment {
  percent: number;
  /** undefined when it cannot finish at the current rates, or before there is anything to go on */
  etaMs?: number;
  convergence: Convergence;
  expectedDowntimeMs?: number;
  maxDowntimeMs: number;
  /** the latest sample's throughput; undefined before the first sample */
  nowBps?: number;
  averageBps: number;
  peakBps: number;
}

const mib = (bps: number) => `${(bps / 1048576).toFixed(0)} MiB/s`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

/** Progress in this pass that never runs backwards and stays below 100 until the job has completed. */
export function percentOf(s: Sample, previous = 0): number {
  const now = s.total > 0 ? Math.floor(((s.total - Math.min(s.remaining, s.total)) / s.total) * 100) : 0;
  return Math.min(99, Math.max(previous, now));
}

interface AssessOptions {
  autoConverge: boolean;
  postcopy: boolean;
  maxDowntimeMs?: number;
  previousPercent?: number;
}

/**
 * The assessment of a run kept up to date one sample at a time: a live monitor appends ~10 samples a second for
 * minutes, so nothing here walks the whole series again. What it keeps: the samples of the last 10 s (for the
 * window means), the smallest "left after a pass" and when it was made, the peak, and the smoothed net rate.
 *
 * `originT` is where the migration assessed begins on the samples' time axis: 0 for a run of one migration, the
 * part's offset for a later migration of a joined run (whose samples follow the earlier one's on one axis, while
 * its own figures, the data it sent above all, count from its own start).
 */
export class Assessor {
  private readonly window: Sample[] = [];
  private last: Sample | undefined;
  private peak = 0;
  private iteration: number | undefined;
  private minimum = Infinity;
  private minimumAt = 0;
  private net: number | undefined;
  private netAt: number | undefined;

  constructor(
    samples: readonly Sample[] = [],
    private readonly originT = 0,
  ) {
    for (const s of samples) this.push(s);
  }

  push(s: Sample): void {
    if (!this.last) this.iteration = s.iteration;
    this.last = s;
    if (s.bps > this.peak) this.peak = s.bps;
    this.window.push(s);
    while (this.window[0].t < s.t - CONVERGENCE_WINDOW_MS) this.window.shift();
    // what QEMU weighs at each dirty-bitmap sync is what is left right after it: the first sample of each iteration.
    // Within a pass, remaining only counts down that pass, so its dips to near zero say nothing about convergence.
    // A few pages less is the same working set: a new minimum must be at least 1 % lower.
    if (s.iteration !== this.iteration && s.iteration >= 2 && s.total !== 0) {
      this.iteration = s.iteration;
      if (s.remaining < this.minimum * 0.99) {
        this.minimum = s.remaining;
        this.minimumAt = s.t;
      }
    }
    // net rate at which the remaining memory shrinks, smoothed over ~3 s of host time, from the first byte sent on:
    // the set-up before it (about a second of zero throughput) would drag the average down and the ETA up for seconds
    if (this.net === undefined && s.bps <= 0) return;
    const value = s.bps - s.dirtyBps;
    const dt = this.netAt === undefined ? ETA_TIME_CONSTANT_MS : Math.max(0, s.t - this.netAt);
    this.net =
      this.net === undefined ? value : this.net + (1 - Math.exp(-dt / ETA_TIME_CONSTANT_MS)) * (value - this.net);
    this.netAt = s.t;
  }

  /**
   * Not converging: over the last 10 s the guest dirtied memory about as fast as it was sent (within 10 %), or what
   * is left after each pass made no new minimum for 10 s. With auto-converge, only once the throttle is at its
   * maximum: until then it is still working. Postcopy finishes by construction.
   */
  convergence(o: { autoConverge: boolean; postcopy: boolean }): Convergence {
    const last = this.last;
    if (o.postcopy) return { state: 'converging' };
    if (!last || last.t - this.originT < CONVERGENCE_WINDOW_MS)
      return { state: 'unknown', reason: `less than ${seconds(CONVERGENCE_WINDOW_MS)} of data` };
    let sent = 0;
    let dirtied = 0;
    for (const s of this.window) {
      sent += s.bps / this.window.length;
      dirtied += s.dirtyBps / this.window.length;
    }
    const atMaxThrottle = (last.throttle ?? 0) >= MAX_THROTTLE;
    const stillThrottling = o.autoConverge && !atMaxThrottle;
    const throttleNote = o.autoConverge ? ` with the CPU throttle at ${last.throttle ?? 0} %` : '';
    if (!stillThrottling && sent > 0 && dirtied >= sent * DIRTY_TOLERANCE) {
      return {
        state: 'not-converging',
        reason: `the guest dirties ${mib(dirtied)} while ${mib(sent)} is sent (10 s average)${throttleNote}`,
      };
    }
    const stuckFor = last.t - this.minimumAt;
    if (!stillThrottling && this.minimum !== Infinity && stuckFor >= CONVERGENCE_WINDOW_MS) {
      return {
        state: 'not-converging',
        reason: `what is left after each pass has not gone below ${(this.minimum / 1048576).toFixed(0)} MiB for ${seconds(stuckFor)} (iteration ${last.iteration}, sending ${mib(sent)}, dirtying ${mib(dirtied)})${throttleNote}`,
      };
    }
    return { state: 'converging' };
  }

  /** Everything the header shows, from the samples so far. */
  assessment(o: AssessOptions): Assessment {
    const last = this.last;
    const maxDowntimeMs = o.maxDowntimeMs ?? DEFAULT_MAX_DOWNTIME_MS;
    const ms = last ? last.t - this.originT : 0;
    const averageBps = last && ms > 0 ? (last.processed / ms) * 1000 : 0;
    const peakBps = this.peak;
    if (!last)
      return {
        percent: o.previousPercent ?? 0,
        convergence: { state: 'unknown', reason: 'no samples yet' },
        maxDowntimeMs,
        averageBps,
        peakBps,
      };
    const verdict = this.convergence(o);
    const net = this.net;
    const etaMs =
      verdict.state !== 'not-converging' && net !== undefined && net > 0
        ? Math.round((last.remaining / net) * 1000)
        : undefined;
    const expectedDowntimeMs =
      last.expectedDowntimeMs ?? (last.bps > 0 ? Math.round((last.remaining / last.bps) * 1000) : undefined);
    return {
      percent: percentOf(last, o.previousPercent),
      etaMs,
      convergence: verdict,
      expectedDowntimeMs,
      maxDowntimeMs,
      nowBps: last.bps,
      averageBps,
      peakBps,
    };
  }
}

/** The convergence verdict of a whole series (see Assessor.convergence). */
export function convergence(samples: readonly Sample[], o: { autoConverge: boolean; postcopy: boolean }): Convergence {
  return new Assessor(samples).convergence(o);
}

/** The assessment of a whole series at once: a finished run, or one side of a comparison. */
export function assess(samples: readonly Sample[], o: AssessOptions): Assessment {
  return new Assessor(samples).assessment(o);
}

/** Sample buffer bound: past it every other sample is dropped, so a long run keeps its whole shape at lower resolution. */
export function thinned(samples: Sample[], limit: number): Sample[] {
  return samples.length <= limit ? samples : samples.filter((_, i) => i % 2 === 0 || i === samples.length - 1);
}
