/**
 * What the migration monitor's header says about a run: a run of one migration, or an operation's migrations joined
 * into one run (a hot-upgrade's way there and way back, see joinParts), whose chart shows every leg on one time
 * axis. The header goes leg by leg: the leg under way (or the last one) with its own phase, progress, ETA, expected
 * downtime and throughput, figured from its own samples counted from its own start; and the whole operation: every
 * leg's outcome and pause, the data sent and the time taken in all. Pure, so the panel shows what the tests check.
 */
import { formatBytes } from './job';
import type { Convergence, Sample } from './monitor';
import { Assessor, percentOf } from './monitor';
import type { MigrationPhase, MigrationRecord, RunPart } from './record';

/** A run's outcome from its completed job; a joined run's is summed over its parts (see joinParts). */
export interface RunSummary {
  totalMs?: number;
  downtimeMs?: number;
  iterations?: number;
  averageBps?: number;
  dataProcessed?: number;
}

export function summaryOf(r: Pick<MigrationRecord, 'summary'>): RunSummary | undefined {
  const s = r.summary;
  return (
    s && {
      totalMs: s.timeElapsedMs,
      downtimeMs: s.downtimeMs,
      iterations: s.iteration,
      dataProcessed: s.dataProcessed,
      averageBps: s.timeElapsedMs && s.dataProcessed ? (s.dataProcessed / s.timeElapsedMs) * 1000 : undefined,
    }
  );
}

/** What the header is figured from: a run as the monitor panel holds it. */
export interface HeaderRun {
  source: string;
  target: string;
  /** the latest leg's */
  phase: MigrationPhase;
  /** a migration's part in its operation ("upgrading QEMU, leg 1 of 2"), while it is not joined with the next */
  step?: string;
  /** the legs of a joined run, in order */
  parts?: readonly RunPart[];
  /** every leg's, on the run's time axis */
  samples: readonly Sample[];
  startedAt: number;
  finishedAt?: number;
  summary?: RunSummary;
  autoConverge: boolean;
  maxDowntimeMs?: number;
}

/** The header's view of a record (the panel's RunView carries the same fields). */
export function headerRunOf(r: MigrationRecord): HeaderRun {
  return {
    source: r.source,
    target: r.target,
    phase: r.phase,
    step: r.operationStep,
    parts: r.parts,
    samples: r.samples,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    summary: summaryOf(r),
    autoConverge: !!r.options?.autoConverge,
    maxDowntimeMs: r.options?.maxDowntimeMs,
  };
}

/** One migration of a run. */
export interface Leg {
  /** from 0 */
  index: number;
  /** the legs of the operation, the ones not begun yet too (a step's "leg 1 of 2" says how many) */
  count: number;
  /** "way there" / "way back" for a round trip, else "leg 2 of 3"; undefined for a run of one migration */
  name?: string;
  /** the name with the leg's number: "way back (leg 2 of 2)" */
  label?: string;
  source: string;
  target: string;
  phase: MigrationPhase;
  /** where it begins on the run's time axis (ms) */
  startT: number;
  /** its switchover's pause, once it completed */
  downtimeMs?: number;
  /** bytes it sent so far */
  dataProcessed?: number;
}

/** "leg 1 of 2" (a round trip's), "hop 1 of 2" (an in-place upgrade's, both on one host) */
const LEG_OF = /\b(leg|hop) (\d+) of (\d+)\b/;
const LIVE: readonly MigrationPhase[] = ['starting', 'running', 'postcopy', 'unknown'];
const FINISHED: readonly MigrationPhase[] = ['completed', 'failed', 'aborted'];

/** The latest sample taken before `t` (samples in time order), if any. */
function lastBefore(samples: readonly Sample[], t: number): Sample | undefined {
  let lo = 0;
  let hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (samples[mid].t < t) lo = mid + 1;
    else hi = mid;
  }
  return samples[lo - 1];
}

/** The run's legs in order: one for a single migration, one per part of a joined run. */
export function legsOf(run: HeaderRun): Leg[] {
  const parts = run.parts?.length ? run.parts : undefined;
  if (!parts) {
    const m = run.step ? LEG_OF.exec(run.step) : null;
    const count = m ? Math.max(1, Number(m[3])) : 1;
    const index = m ? Math.min(count, Math.max(1, Number(m[2]))) - 1 : 0;
    const name = count > 1 ? `${m?.[1] ?? 'leg'} ${index + 1} of ${count}` : undefined;
    const { source, target, phase } = run;
    return [
      {
        index,
        count,
        name,
        label: name,
        source,
        target,
        phase,
        startT: 0,
        downtimeMs: run.summary?.downtimeMs,
        dataProcessed: run.summary?.dataProcessed ?? run.samples.at(-1)?.processed,
      },
    ];
  }
  const declared = Math.max(0, ...parts.map((p) => Number(LEG_OF.exec(p.step ?? '')?.[3] ?? 0)));
  const count = Math.max(parts.length, declared);
  const word = LEG_OF.exec(parts[0].step ?? '')?.[1] ?? 'leg';
  const roundTrip =
    count === 2 &&
    parts.length === 2 &&
    parts[0].source !== parts[0].target &&
    parts[1].source === parts[0].target &&
    parts[1].target === parts[0].source;
  return parts.map((p, index) => {
    const number = `${word} ${index + 1} of ${count}`;
    const name = roundTrip ? (index === 0 ? 'way there' : 'way back') : number;
    // a leg under way has sent what its latest sample says; a finished one what its completed job says
    const last = lastBefore(run.samples, parts[index + 1]?.offsetMs ?? Infinity);
    const sampled = last && last.t >= p.offsetMs ? last.processed : undefined;
    const dataProcessed = FINISHED.includes(p.phase) ? (p.dataProcessed ?? sampled) : (sampled ?? p.dataProcessed);
    return {
      index,
      count,
      name,
      label: roundTrip ? `${name} (${number})` : name,
      source: p.source,
      target: p.target,
      phase: p.phase,
      startT: p.offsetMs,
      downtimeMs: p.downtimeMs,
      dataProcessed,
    };
  });
}

/** Everything the header shows, as figures. */
export interface HeaderFigures {
  /** the leg shown: the one under way, or the last */
  leg: Leg;
  legs: Leg[];
  /** the leg's phase (a joined run's is its latest leg's) */
  phase: MigrationPhase;
  live: boolean;
  /** the leg's progress: never backwards, 100 once it completed */
  percent: number;
  /** of the whole operation, when it has more than one leg */
  overallPercent?: number;
  etaMs?: number;
  convergence: Convergence;
  /** the leg's throughput: its latest sample's, its average since it began, its peak; undefined before its first sample */
  nowBps?: number;
  averageBps?: number;
  peakBps?: number;
  /** the leg's pause: actual once it completed, else what QEMU expects */
  downtimeMs?: number;
  downtimeActual: boolean;
  maxDowntimeMs: number;
  /** since the run began */
  elapsedMs: number;
  /** since the leg began, when there is more than one */
  legElapsedMs?: number;
  /** the whole operation, when it has more than one leg */
  total?: { dataProcessed?: number; ms: number; downtimeMs?: number; finished: boolean };
}

/**
 * The header of one run, kept up to date one sample at a time (the leg's assessment walks no series again). A
 * panel makes one when it is sent a run whole (passing the one before it, whose progress it keeps if higher: the
 * panel's samples may have been thinned); samples are fed as they come; when the run's legs change (a header
 * message) `follow` gives the header for them: this one while the same leg is under way, a new one from the new
 * leg's start. Progress is the record's (see next()): the highest any of the leg's samples reached, below 100 until
 * the leg has completed, whether the panel saw the leg from its start or opened half-way.
 */
export class MonitorHeader {
  private readonly assessor: Assessor;
  private readonly legStartT: number;
  private percent = 0;

  constructor(run: HeaderRun, previous?: MonitorHeader) {
    this.legStartT = legsOf(run).at(-1)!.startT;
    this.assessor = new Assessor([], this.legStartT);
    this.push(run.samples);
    if (previous?.legStartT === this.legStartT) this.percent = Math.max(this.percent, previous.percent);
  }

  follow(run: HeaderRun): MonitorHeader {
    return legsOf(run).at(-1)!.startT === this.legStartT ? this : new MonitorHeader(run);
  }

  /** New samples of the run, each once, in order. */
  push(samples: readonly Sample[]): void {
    for (const s of samples) {
      if (s.t < this.legStartT) continue;
      this.assessor.push(s);
      this.percent = percentOf(s, this.percent);
    }
  }

  figures(run: HeaderRun, clock = Date.now()): HeaderFigures {
    const legs = legsOf(run);
    const leg = legs.at(-1)!;
    const phase = leg.phase;
    const live = LIVE.includes(phase);
    const a = this.assessor.assessment({
      autoConverge: run.autoConverge,
      postcopy: phase === 'postcopy',
      maxDowntimeMs: run.maxDowntimeMs,
      previousPercent: this.percent,
    });
    this.percent = phase === 'completed' ? 100 : a.percent;
    const sampled = a.nowBps !== undefined;
    const lastT = run.samples.at(-1)?.t;
    // host time of the latest sample; before the leg's first one (a way back starting), the time since the run began
    const elapsedMs =
      run.summary?.totalMs ??
      (lastT !== undefined && lastT >= leg.startT
        ? lastT
        : Math.max(leg.startT, (run.finishedAt ?? clock) - run.startedAt));
    const several = leg.count > 1;
    const sum = (xs: (number | undefined)[]) =>
      xs.some((x) => x !== undefined) ? xs.reduce<number>((s, x) => s + (x ?? 0), 0) : undefined;
    return {
      leg,
      legs,
      phase,
      live,
      percent: this.percent,
      overallPercent: several ? Math.floor((leg.index * 100 + this.percent) / leg.count) : undefined,
      etaMs: a.etaMs,
      convergence: a.convergence,
      nowBps: a.nowBps,
      averageBps: sampled ? a.averageBps : undefined,
      peakBps: sampled ? a.peakBps : undefined,
      downtimeMs: leg.downtimeMs ?? a.expectedDowntimeMs,
      downtimeActual: leg.downtimeMs !== undefined,
      maxDowntimeMs: a.maxDowntimeMs,
      elapsedMs,
      legElapsedMs: legs.length > 1 ? Math.max(0, elapsedMs - leg.startT) : undefined,
      total:
        legs.length > 1
          ? {
              dataProcessed: sum(legs.map((l) => l.dataProcessed)),
              ms: elapsedMs,
              downtimeMs: sum(legs.map((l) => l.downtimeMs)),
              finished: FINISHED.includes(phase),
            }
          : undefined,
    };
  }
}

/** The header's lines, as the panel shows them. */
export interface HeaderTexts {
  phase: string;
  elapsed: string;
  eta: string;
  percent: string;
  downtime: string;
  throughput: string;
  /** the whole operation; empty for a run of one migration */
  operation: string;
}

export const duration = (ms: number) =>
  ms >= 60_000 ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
/** the units the monitor shows rates in */
export type RateDisplayUnit = 'MiB' | 'Gbit';

/** bytes/s in MiB/s or Gbit/s */
export const rateText = (bps: number, unit: RateDisplayUnit) =>
  unit === 'MiB' ? `${(bps / 1048576).toFixed(0)} MiB/s` : `${((bps * 8) / 1e9).toFixed(2)} Gbit/s`;

/** The figures in words, rates in the unit the user chose (MiB/s by default). */
export function headerTexts(f: HeaderFigures, unit: RateDisplayUnit = 'MiB'): HeaderTexts {
  const { leg } = f;
  const rate = (bps: number) => rateText(bps, unit);
  const t = f.total;
  const legLine = (l: Leg) => `${l.name} ${l.phase}${l.downtimeMs !== undefined ? `, paused ${l.downtimeMs} ms` : ''}`;
  return {
    phase: leg.label ? `${leg.label}: ${f.phase}` : f.phase,
    elapsed: duration(f.elapsedMs) + (f.legElapsedMs !== undefined ? ` (${leg.name} ${duration(f.legElapsedMs)})` : ''),
    eta: !f.live
      ? '—'
      : f.convergence.state === 'not-converging'
        ? 'not converging'
        : f.etaMs !== undefined
          ? `~${duration(f.etaMs)}`
          : 'estimating…',
    percent:
      f.overallPercent !== undefined ? `${f.percent} % (${leg.name}) · ${f.overallPercent} % in all` : `${f.percent} %`,
    downtime:
      f.downtimeMs !== undefined
        ? `${f.downtimeMs} ms ${f.downtimeActual ? 'actual' : 'expected'} / ${f.maxDowntimeMs} ms max`
        : '—',
    throughput:
      f.nowBps !== undefined
        ? `${rate(f.nowBps)} now · ${rate(f.averageBps ?? 0)} avg · ${rate(f.peakBps ?? 0)} peak`
        : '—',
    operation: t
      ? `${f.legs.map(legLine).join(' · ')} · ${formatBytes(t.dataProcessed)} in ${duration(t.ms)}${t.finished ? (t.downtimeMs !== undefined ? `, paused ${t.downtimeMs} ms in all` : '') : ' so far'}`
      : '',
  };
}
