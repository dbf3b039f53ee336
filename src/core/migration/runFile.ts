/**
 * Run files come from anyone (a colleague's export, a crafted file): an imported run is rebuilt from whitelisted,
 * type-checked fields with caps, never taken as it is. Its id and domain UUID become a path in the history folder,
 * so both must have Ferry's own form.
 */
import type { Finding } from '../diagnosis';
import { isUuid } from '../domain';
import { isGatePath } from '../conntrack';
import type { Versions } from '../hostFacts';
import type { JobStats, JobType, MigrationOptions } from './job';
import type { MigrationMarker, Sample } from './monitor';
import type { GateReport, MigrationPhase, MigrationRecord, RunPart } from './record';
import { MAX_SAMPLES } from './record';

/** the largest run file read (a real run of 20,000 samples exports to about 4 MiB) */
export const MAX_RUN_FILE_BYTES = 32 * 1024 * 1024;
const MAX_MARKERS = 2_000;
const MAX_FINDINGS = 100;
const MAX_PARTS = 16;

/** Ferry's run ids: `<domain uuid>-<start time in ms>` */
export function isRunId(v: unknown, domainUuid?: string): v is string {
  if (typeof v !== 'string') return false;
  const m = /^([0-9a-f-]{36})-(\d{1,16})$/.exec(v);
  return !!m && isUuid(m[1]) && (domainUuid === undefined || m[1] === domainUuid);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown, max: number): string | undefined => (typeof v === 'string' && v.length <= max ? v : undefined);
const oneOf = <T extends string>(v: unknown, allowed: readonly T[]): T | undefined =>
  allowed.includes(v as T) ? (v as T) : undefined;
/** drop the keys whose value is undefined, so a rebuilt object holds only what was valid */
const defined = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const PHASES: readonly MigrationPhase[] = [
  'planned',
  'starting',
  'running',
  'postcopy',
  'unknown',
  'completed',
  'failed',
  'aborted',
];
const MARKER_KINDS: readonly MigrationMarker['kind'][] = [
  'postcopy',
  'paused',
  'resumed',
  'steer',
  'part',
  'completed',
  'failed',
  'aborted',
];
const JOB_TYPES: readonly JobType[] = ['none', 'bounded', 'unbounded', 'completed', 'failed', 'cancelled'];
const SEVERITIES: readonly Finding['severity'][] = ['problem', 'warning', 'info'];

function sample(v: unknown): Sample | undefined {
  if (!isObject(v)) return undefined;
  const [t, bps, dirtyBps, remaining, processed, total, iteration] = [
    v.t,
    v.bps,
    v.dirtyBps ?? 0,
    v.remaining,
    v.processed ?? 0,
    v.total ?? 0,
    v.iteration ?? 0,
  ].map(num);
  if ([t, bps, dirtyBps, remaining, processed, total, iteration].some((x) => x === undefined)) return undefined;
  return defined({
    t: t!,
    bps: bps!,
    dirtyBps: dirtyBps!,
    remaining: remaining!,
    processed: processed!,
    total: total!,
    iteration: iteration!,
    expectedDowntimeMs: num(v.expectedDowntimeMs),
    throttle: num(v.throttle),
    postcopyRequests: num(v.postcopyRequests),
  });
}

function marker(v: unknown): MigrationMarker | undefined {
  if (!isObject(v)) return undefined;
  const t = num(v.t);
  const kind = oneOf(v.kind, MARKER_KINDS);
  const label = str(v.label, 200);
  return t !== undefined && kind && label !== undefined ? { t, kind, label } : undefined;
}

function options(v: unknown): MigrationOptions | undefined {
  if (!isObject(v)) return undefined;
  const bool = (k: string) => (typeof v[k] === 'boolean' ? (v[k] as boolean) : undefined);
  const o = {
    p2p: bool('p2p'),
    persistent: bool('persistent'),
    undefineSource: bool('undefineSource'),
    postcopy: oneOf(v.postcopy, ['off', 'manual', 'afterPrecopy'] as const),
    parallelConnections: num(v.parallelConnections),
    zeroCopy: bool('zeroCopy'),
    compression: oneOf(v.compression, ['none', 'xbzrle', 'mt'] as const),
    autoConverge: bool('autoConverge'),
    tls: bool('tls'),
    copyStorage: oneOf(v.copyStorage, ['none', 'all', 'inc'] as const),
  };
  if (Object.values(o).some((x) => x === undefined)) return undefined;
  return defined({
    ...(o as MigrationOptions),
    bandwidthMiBps: num(v.bandwidthMiBps),
    maxDowntimeMs: num(v.maxDowntimeMs),
    keepTcpConnections: bool('keepTcpConnections'),
  });
}

function jobStats(v: unknown): JobStats | undefined {
  if (!isObject(v)) return undefined;
  const type = oneOf(v.type, JOB_TYPES);
  if (!type) return undefined;
  const raw: Record<string, number> = {};
  if (isObject(v.raw)) {
    for (const [k, x] of Object.entries(v.raw).slice(0, 100))
      if (/^[a-z_]{1,64}$/.test(k) && num(x) !== undefined) raw[k] = x as number;
  }
  const keys = [
    'operation',
    'timeElapsedMs',
    'dataTotal',
    'dataProcessed',
    'dataRemaining',
    'memoryTotal',
    'memoryProcessed',
    'memoryRemaining',
    'memoryBps',
    'dirtyRate',
    'pageSize',
    'iteration',
    'downtimeMs',
    'setupTimeMs',
    'postcopyRequests',
  ] as const;
  return defined({ type, raw, ...Object.fromEntries(keys.map((k) => [k, num(v[k])])) });
}

function versions(v: unknown): Versions | undefined {
  return isObject(v) ? defined({ libvirt: str(v.libvirt, 64), hypervisor: str(v.hypervisor, 128) }) : undefined;
}

function gate(v: unknown): GateReport | undefined {
  if (!isObject(v) || !Array.isArray(v.addresses)) return undefined;
  const addresses = v.addresses
    .slice(0, 64)
    .map((a) => str(a, 64))
    .filter((a): a is string => a !== undefined);
  const n = (k: string) => num(v[k]);
  return defined({
    addresses,
    bulkEntries: n('bulkEntries'),
    bulkNotLoaded: n('bulkNotLoaded'),
    finalChanged: n('finalChanged'),
    listPath: isGatePath(v.listPath) ? v.listPath : undefined,
    extraPauseMs: n('extraPauseMs'),
    listMs: n('listMs'),
    loadMs: n('loadMs'),
    resumeMs: n('resumeMs'),
    missing: n('missing'),
    budgetExceeded: typeof v.budgetExceeded === 'boolean' ? v.budgetExceeded : undefined,
    error: str(v.error, 2000),
  });
}

function finding(v: unknown): Finding | undefined {
  if (!isObject(v)) return undefined;
  const f = {
    id: str(v.id, 64),
    severity: oneOf(v.severity, SEVERITIES),
    title: str(v.title, 500),
    evidence: str(v.evidence, 4000),
  };
  return f.id && f.severity && f.title !== undefined && f.evidence !== undefined
    ? defined({ ...(f as Finding), fix: str(v.fix, 4000) })
    : undefined;
}

function part(v: unknown): RunPart | undefined {
  if (!isObject(v)) return undefined;
  const p = {
    id: str(v.id, 64),
    source: str(v.source, 1024),
    target: str(v.target, 1024),
    offsetMs: num(v.offsetMs),
    startedAt: num(v.startedAt),
    phase: oneOf(v.phase, PHASES),
  };
  if (Object.values(p).some((x) => x === undefined)) return undefined;
  return defined({
    ...(p as RunPart),
    step: str(v.step, 200),
    finishedAt: num(v.finishedAt),
    downtimeMs: num(v.downtimeMs),
    dataProcessed: num(v.dataProcessed),
    error: str(v.error, 10_000),
  });
}

function list<T>(v: unknown, max: number, item: (x: unknown) => T | undefined): T[] {
  if (!Array.isArray(v)) return [];
  if (v.length > max) throw new Error(`it holds ${v.length} entries where Ferry keeps at most ${max}`);
  return v.map(item).filter((x): x is T => x !== undefined);
}

/** An exported run read back into a record of Ferry's own making, marked imported; throws with what is wrong. */
export function parseRunFile(text: string): MigrationRecord {
  if (text.length > MAX_RUN_FILE_BYTES)
    throw new Error(`this file is larger than a run file can be (${MAX_RUN_FILE_BYTES / 1048576} MiB)`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`this file is not JSON (${(e as Error).message})`);
  }
  const notARun = 'this file is not a Ferry migration run (export one with "Export Run as JSON")';
  if (!isObject(v)) throw new Error(notARun);
  if (!isUuid(v.domainUuid)) throw new Error(`${notARun}: its domainUuid is not a UUID`);
  if (!isRunId(v.id, v.domainUuid)) throw new Error(`${notARun}: its id is not of the form <domain uuid>-<start time>`);
  const domainName = str(v.domainName, 1024);
  const startedAt = num(v.startedAt);
  const phase = oneOf(v.phase, PHASES);
  if (domainName === undefined || startedAt === undefined || !phase || !Array.isArray(v.samples))
    throw new Error(notARun);
  let samples: Sample[];
  let markers: MigrationMarker[];
  let parts: RunPart[];
  try {
    samples = list(v.samples, MAX_SAMPLES, sample);
    markers = list(v.markers, MAX_MARKERS, marker);
    parts = list(v.parts, MAX_PARTS, part);
  } catch (e) {
    throw new Error(`${notARun}: ${(e as Error).message}`);
  }
  if (samples.length !== v.samples.length) throw new Error(`${notARun}: some of its samples are not samples`);
  return defined({
    id: v.id,
    domainUuid: v.domainUuid,
    domainName,
    source: str(v.source, 1024) ?? '?',
    target: str(v.target, 1024) ?? '?',
    options: options(v.options),
    discovered: v.discovered === true ? true : undefined,
    startedAt,
    finishedAt: num(v.finishedAt),
    phase,
    percent: Math.min(100, Math.max(0, num(v.percent) ?? 0)),
    samples,
    markers,
    summary: jobStats(v.summary),
    error: str(v.error, 10_000),
    sourceVersions: versions(v.sourceVersions),
    targetVersions: versions(v.targetVersions),
    gate: gate(v.gate),
    findings: Array.isArray(v.findings) ? list(v.findings.slice(0, MAX_FINDINGS), MAX_FINDINGS, finding) : undefined,
    linkMbps: num(v.linkMbps),
    parts: parts.length ? parts : undefined,
    imported: true,
  });
}
