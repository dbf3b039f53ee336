/**
 * A migration as Ferry records it: live while it runs, then in the history (and in exports), and the one function
 * that moves it from phase to phase. Shared by the services that run migrations and by the views, commands and
 * files that show or store them.
 *
 *   planned → starting → running ⇄ postcopy → completed | failed | aborted
 *   (discovered: → running;  unknown while its source cannot be reached, from any live phase)
 */
import type { Finding } from '../diagnosis';
import type { Versions } from '../hostFacts';
import type { JobStats, MigrationOptions } from './job';
import type { MigrationMarker, Sample } from './monitor';
import { isZeroedReading, percentOf, thinned, toSample } from './monitor';

export type MigrationPhase =
  'planned' | 'starting' | 'running' | 'postcopy' | 'unknown' | 'completed' | 'failed' | 'aborted';
export const FINISHED_PHASES: readonly MigrationPhase[] = ['completed', 'failed', 'aborted'];

export interface MigrationRecord {
  id: string;
  domainUuid: string;
  domainName: string;
  source: string;
  /** the target host's alias; for a discovered migration, the connected host the domain appeared on, if any */
  target: string;
  /** unknown for a migration Ferry did not start (a `virsh migrate` in a shell, an orchestrator's) */
  options?: MigrationOptions;
  /** started by someone else, found through libvirt's events and job info */
  discovered?: boolean;
  startedAt: number;
  finishedAt?: number;
  /** on the source host: virsh migrate's output and its exit status ("ferry-exit=N"); none when discovered */
  logPath?: string;
  phase: MigrationPhase;
  percent: number;
  last?: JobStats;
  /** up to 20 per second, host time; thinned (every other dropped) past MAX_SAMPLES */
  samples: Sample[];
  markers: MigrationMarker[];
  /** final job statistics (source's completed job) */
  summary?: JobStats;
  error?: string;
  sourceVersions?: Versions;
  targetVersions?: Versions;
  /** "Keep TCP connections": the conntrack sync around a gated switchover */
  gate?: GateReport;
  /** "Why is it slow?", taken once a few seconds in (and again whenever asked) */
  findings?: Finding[];
  /** speed of the source's interface towards the target, Mbit/s */
  linkMbps?: number;
  /** shared by the migrations of one operation (a hot-upgrade's two legs) */
  operationId?: string;
  /** this migration's part in that work, as the tree shows it ("upgrading QEMU, leg 1 of 2") */
  operationStep?: string;
  /** the migrations of one operation joined into this run, in order (see joinParts); absent for a single one */
  parts?: RunPart[];
  /**
   * The libvirt daemons of each side when not the configured one, as URIs on that side's host: an in-place upgrade's
   * hops go into and out of a second daemon on the same host (its shadow daemon's socket).
   */
  sourceUri?: string;
  targetUri?: string;
  /** loaded from someone's export, for comparison */
  imported?: boolean;
  /**
   * the source domain's max downtime before Ferry set the run's (QEMU keeps it for the domain's next migration): put
   * back when the run fails or is aborted with the domain still there
   */
  maxDowntimeBeforeMs?: number;
}

/** One migration of a run that joins an operation's migrations: where it went and how it ended. */
export interface RunPart {
  id: string;
  source: string;
  target: string;
  step?: string;
  /** ms from the run's start to this part's start (its samples and markers are shifted by it) */
  offsetMs: number;
  startedAt: number;
  finishedAt?: number;
  phase: MigrationPhase;
  downtimeMs?: number;
  /** bytes it sent: its completed job's, else its latest reading's */
  dataProcessed?: number;
  error?: string;
}

export interface GateReport {
  addresses: string[];
  bulkEntries?: number;
  /** flows of a bulk copy whose load failed, loaded at the switchover instead */
  bulkNotLoaded?: number;
  /** flows new or changed since the bulk copy, listed and loaded at the switchover */
  finalChanged?: number;
  /** how the source found them: from the table's events, or listed again (and why; core/conntrack GatePath) */
  listPath?: string;
  /** the domain's extra pause on the target: switchover seen → final import → resumed */
  extraPauseMs?: number;
  /** its parts: listing the flows on the source, loading the changed ones on the target, resuming there */
  listMs?: number;
  loadMs?: number;
  resumeMs?: number;
  /** flows not confirmed on the target when it was resumed (budget exceeded or import failed) */
  missing?: number;
  budgetExceeded?: boolean;
  error?: string;
}

/** A new record, planned: every later phase comes from next(). */
export function plannedRecord(
  fields: Omit<MigrationRecord, 'phase' | 'percent' | 'samples' | 'markers'>,
): MigrationRecord {
  return { ...fields, phase: 'planned', percent: 0, samples: [], markers: [] };
}

/** samples kept per run (20 per second: over 16 minutes); past it every other one is dropped */
export const MAX_SAMPLES = 20_000;

/** What moves a migration: each of these is handled by next(), the only place a phase changes. */
export type MigrationEvent =
  /** Ferry started virsh migrate for it */
  | { kind: 'launched' }
  /** a migration Ferry did not start, found running */
  | { kind: 'discovered' }
  /** read back from storage after a reload: nothing is known until its source answers */
  | { kind: 'restored' }
  /** a reading of the running job on the source */
  | { kind: 'sampled'; stats: JobStats }
  /** its source stopped answering; the migration goes on without Ferry */
  | { kind: 'linkLost' }
  /** steered while running: a marker on the chart; `postcopy` when it was switched to postcopy */
  | { kind: 'steered'; label: string; postcopy?: boolean }
  /** "Keep TCP connections": the switchover gate's report */
  | { kind: 'gateDone'; report: GateReport }
  /**
   * virsh migrate ended. `targetProblem`: it said success but the domain is not running on the target; `errorText`:
   * its error lines; `summary`: the completed job's statistics.
   */
  | {
      kind: 'ended';
      exitCode: number;
      errorText: string;
      abortRequested: boolean;
      summary?: JobStats;
      targetProblem?: string;
      at: number;
    };

/** The host time of a run's latest reading (ms since it started), for markers. */
const now = (r: MigrationRecord, fallback: number) => r.last?.timeElapsedMs ?? fallback - r.startedAt;

/**
 * The record after `event`: a new object when anything shown changed (phase, progress, iteration, markers, outcome), the same
 * one when not. Samples are appended in place (a run holds thousands; copying them per reading would be quadratic).
 */
export function next(record: MigrationRecord, event: MigrationEvent, clock = Date.now()): MigrationRecord {
  if (FINISHED_PHASES.includes(record.phase)) return record; // an ended run stays as it ended
  switch (event.kind) {
    case 'launched':
      return { ...record, phase: 'starting' };
    case 'discovered':
      return { ...record, phase: 'running', discovered: true };
    case 'restored':
    case 'linkLost':
      return record.phase === 'unknown' ? record : { ...record, phase: 'unknown' };
    case 'sampled': {
      const sample = toSample(event.stats);
      // a zeroed reading while libvirt cancels the job is no sample (it would draw every series down to 0)
      if (sample && isZeroedReading(sample, record.samples.at(-1))) return record;
      const wasPostcopy = record.phase === 'postcopy';
      const phase: MigrationPhase = wasPostcopy || (event.stats.postcopyRequests ?? 0) > 0 ? 'postcopy' : 'running';
      const percent = sample ? percentOf(sample, record.percent) : record.percent;
      // the iteration is shown too (the progress notification): a run held at 99 % while pass after pass is sent
      // changes nothing else, and a listener told only of phase and progress would keep the pass of its last percent
      const changed =
        phase !== record.phase || percent !== record.percent || event.stats.iteration !== record.last?.iteration;
      const r = Object.assign(changed ? { ...record } : record, { phase, percent, last: event.stats });
      if (phase === 'postcopy' && !wasPostcopy)
        r.markers.push({ t: now(r, clock), kind: 'postcopy', label: 'postcopy' });
      if (sample) {
        r.samples.push(sample);
        if (r.samples.length > MAX_SAMPLES) r.samples = thinned(r.samples, MAX_SAMPLES);
      }
      return r;
    }
    case 'steered': {
      const switching = event.postcopy && record.phase !== 'postcopy';
      if (event.postcopy && !switching) return record;
      record.markers.push({ t: now(record, clock), kind: switching ? 'postcopy' : 'steer', label: event.label });
      return { ...record, phase: switching ? 'postcopy' : record.phase };
    }
    case 'gateDone':
      return { ...record, gate: event.report };
    case 'ended': {
      const { exitCode, errorText, abortRequested, summary, targetProblem } = event;
      const phase: MigrationPhase =
        exitCode === 0
          ? targetProblem
            ? 'failed'
            : 'completed'
          : abortRequested || /abort|cancel/i.test(errorText)
            ? 'aborted'
            : 'failed';
      const end = summary?.timeElapsedMs ?? now(record, event.at);
      if (phase === 'completed' && summary?.downtimeMs !== undefined) {
        record.markers.push({
          t: Math.max(0, end - summary.downtimeMs),
          kind: 'paused',
          label: `switchover: paused ${summary.downtimeMs} ms`,
        });
      }
      if (record.gate?.extraPauseMs !== undefined)
        record.markers.push({
          t: end,
          kind: 'resumed',
          label: `resumed on ${record.target} after the conntrack gate (+${record.gate.extraPauseMs} ms)`,
        });
      record.markers.push({ t: end, kind: phase, label: phase });
      const error =
        phase === 'completed'
          ? undefined
          : (targetProblem ??
            record.error ??
            (abortRequested
              ? `aborted on request${errorText ? ` (libvirt: ${errorText})` : ''}`
              : errorText || `virsh migrate exited with ${exitCode}`));
      return {
        ...record,
        phase,
        percent: phase === 'completed' ? 100 : record.percent,
        finishedAt: event.at,
        summary: summary?.type === 'completed' ? summary : undefined,
        error,
      };
    }
  }
}

/** Samples or markers of a later part, on the time axis of the run it joins (`by` ms after the run began). */
export const shifted = <T extends { t: number }>(xs: readonly T[], by: number): T[] =>
  xs.map((x) => ({ ...x, t: x.t + by }));

const partOf = (r: MigrationRecord, offsetMs: number): RunPart => ({
  id: r.id,
  source: r.source,
  target: r.target,
  step: r.operationStep,
  offsetMs,
  startedAt: r.startedAt,
  finishedAt: r.finishedAt,
  phase: r.phase,
  downtimeMs: r.summary?.downtimeMs,
  dataProcessed: r.summary?.dataProcessed ?? r.last?.dataProcessed,
  error: r.error,
});

const sum = (a?: number, b?: number) => (a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0));

/**
 * One run of an operation's migrations (a hot-upgrade's way there and way back): `later`'s samples and markers
 * follow `earlier`'s on one time axis, a marker where it begins; its phase is the latest part's, its downtime the
 * sum of the parts' (the guest paused once in each). Joining a joined run and the next part gives the same as
 * joining all parts at once, so the history entry grows part by part under the first part's id.
 */
export function joinParts(earlier: MigrationRecord, later: MigrationRecord): MigrationRecord {
  const offsetMs = Math.max(0, later.startedAt - earlier.startedAt);
  const parts = [
    ...(earlier.parts ?? [partOf(earlier, 0)]),
    ...(later.parts ?? [partOf(later, 0)]).map((p) => ({ ...p, offsetMs: p.offsetMs + offsetMs })),
  ];
  const n = parts.length;
  const begins: MigrationMarker = {
    t: offsetMs,
    kind: 'part',
    label: `${later.operationStep ?? `part ${n}`}: ${later.source} → ${later.target}`,
  };
  const a = earlier.summary;
  const b = later.summary;
  const summary: JobStats | undefined = b && {
    ...b,
    timeElapsedMs: b.timeElapsedMs !== undefined ? b.timeElapsedMs + offsetMs : undefined,
    downtimeMs: sum(a?.downtimeMs, b.downtimeMs),
    dataProcessed: sum(a?.dataProcessed, b.dataProcessed),
    iteration: sum(a?.iteration, b.iteration),
  };
  const failed = parts.find((p) => p.error);
  return {
    ...later,
    id: earlier.id,
    source: earlier.source,
    startedAt: earlier.startedAt,
    options: earlier.options ?? later.options,
    sourceVersions: earlier.sourceVersions,
    samples: [...earlier.samples, ...shifted(later.samples, offsetMs)],
    markers: [...earlier.markers, begins, ...shifted(later.markers, offsetMs)],
    summary,
    findings: [...(earlier.findings ?? []), ...(later.findings ?? [])],
    error: failed && `${failed.step ?? failed.id}: ${failed.error}`,
    operationStep: undefined,
    parts,
  };
}

/** Where a run went, host by host: [source, target], or every host of a joined run's parts in order. */
export function route(r: Pick<MigrationRecord, 'source' | 'target' | 'parts'>): string[] {
  return r.parts?.length ? [r.parts[0].source, ...r.parts.map((p) => p.target)] : [r.source, r.target];
}
