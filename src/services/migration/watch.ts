/**
 * Watching a migration from its source: one persistent job reader (up to ~22 Hz), re-attached after the link drops; when
 * the job is gone, how it ended (its log's exit marker, the completed job, the target's word) becomes the run's
 * outcome, through next().
 */
import type { Finding } from '../../core/diagnosis';
import { isPodUri } from '../../core/kubevirt';
import type { JobStats } from '../../core/migration/job';
import { exitStatusInLog, isActiveJob, jobInfoArgv, parseJobStats } from '../../core/migration/job';
import type { MigrationRecord } from '../../core/migration/record';
import { joinParts, next } from '../../core/migration/record';
import { removeLogArgv } from '../../remote/migration';
import type { HostConnection } from '../../transport/hostConnection';
import type { Logger } from '../../transport/logger';
import { SshError } from '../../transport/sshError';
import type { HostRegistry } from '../hostRegistry';
import type { HostInventory } from '../inventory';
import { JobReader } from '../jobSampler';
import { migratedQosFindings } from '../qos';
import type { Gate } from './gate';

/**
 * The next reading is asked as soon as the previous one is answered, by default at most ~22 a second: a host that
 * answers in ~46 ms (the lab under TCG) is read back to back, with no idle gap; a fast one is not flooded. One query
 * is in flight at a time, so a host that slows down is simply read less often.
 */
export const MIN_SAMPLE_INTERVAL_MS = 45;
const READ_TIMEOUT_MS = 10_000;

/** Where runs are kept: the running ones (to re-attach after a reload) and the finished ones' history. */
export interface MigrationStore {
  loadActive(): MigrationRecord[];
  saveActive(records: MigrationRecord[]): Promise<void>;
  addToHistory(record: MigrationRecord): Promise<void>;
  /** the stored run of an operation's earlier migrations, to which the next one is joined */
  operationRun(domainUuid: string, operationId: string): Promise<MigrationRecord | undefined>;
}

/** What the watcher needs of the runner that owns the run. */
export interface WatchContext {
  readonly registry: HostRegistry;
  readonly store: MigrationStore;
  readonly uri: string;
  /** the least time from one reading of a job to the next */
  readonly sampleIntervalMs: number;
  readonly log: Logger;
  readonly gates: Map<string, Gate>;
  readonly abortRequested: Set<string>;
  isDisposed(): boolean;
  host(alias: string): HostInventory;
  /** the run's live record (steering may have moved it since the last reading) */
  live(id: string): MigrationRecord | undefined;
  changed(record: MigrationRecord): void;
  sampled(record: MigrationRecord, stats: JobStats): MigrationRecord;
}

export async function watchMigration(ctx: WatchContext, record: MigrationRecord): Promise<MigrationRecord> {
  const uri = record.sourceUri ?? ctx.uri;
  let sawJob = false;
  let reader: JobReader | undefined;
  try {
    while (!ctx.isDisposed()) {
      record = ctx.live(record.id) ?? record; // steering moves the live record between readings
      const source = ctx.host(record.source);
      const askedAt = performance.now();
      try {
        if (source.connection.state.kind !== 'connected') await source.connection.connect(false);
        reader ??= await JobReader.open(source.connection, uri, record.domainUuid);
        const { stats } = await withTimeout(reader.read(), READ_TIMEOUT_MS, () => reader?.close());
        if (isActiveJob(stats)) {
          sawJob = true;
          record = ctx.sampled(record, stats);
        } else {
          reader.close();
          reader = undefined;
          const outcome = await ended(ctx, record, sawJob);
          if (outcome) return outcome;
          await sleep(500); // no job yet (virsh migrate still setting up) or just gone: look again shortly
          continue;
        }
      } catch (e) {
        reader?.close();
        reader = undefined;
        const lost = next(record, { kind: 'linkLost' });
        if (lost !== record) {
          ctx.changed((record = lost));
          ctx.log.warn(
            `migration ${record.id}: lost sight of ${record.source} (${(e as Error).message}); the migration goes on without Ferry, re-attaching when the host is back`,
          );
        }
        if (!(e instanceof SshError)) ctx.log.error(`migration ${record.id}: ${(e as Error).message}`);
        // an in-place hop's second daemon may be gone while the host answers: the hop's log says how it ended; so may
        // a KubeVirt source pod (KubeVirt ends it once its VM has left): the target pod says
        const podGone =
          isPodUri(uri) &&
          source.kubevirt.scannedSinceConnect &&
          !source.kubevirt.pods.some((p) => p.domain?.uuid === record.domainUuid);
        if (((sameHostHop(record) && record.logPath) || podGone) && source.connection.state.kind === 'connected') {
          const outcome = await ended(ctx, record, sawJob).catch(() => undefined);
          if (outcome) return outcome;
        }
        await sleep(2000);
        continue;
      }
      await sleep(ctx.sampleIntervalMs - (performance.now() - askedAt));
    }
    return record;
  } finally {
    reader?.close();
  }
}

/** The job is not (or not yet) running on the source: has the migration ended, and how? */
async function ended(
  ctx: WatchContext,
  record: MigrationRecord,
  sawJob: boolean,
): Promise<MigrationRecord | undefined> {
  const source = ctx.host(record.source).connection;
  if (!record.logPath) {
    // discovered: no log of ours; libvirt's completed job says how it ended
    const uri = record.sourceUri ?? ctx.uri;
    const completed = await source.exec(jobInfoArgv(uri, record.domainUuid, true), { timeoutMs: 10_000 });
    const stats = completed.code === 0 ? parseJobStats(completed.stdout) : undefined;
    if (completed.code !== 0 && isPodUri(uri)) return finish(ctx, record, ...(await kubevirtOutcome(ctx, record)));
    const exit = stats?.type === 'completed' ? 0 : 1;
    const why =
      stats?.type === 'cancelled'
        ? 'error: operation aborted'
        : stats?.type === 'failed'
          ? "error: the migration failed (see libvirt's log on the source)"
          : '';
    return finish(ctx, record, exit, why);
  }
  const log = await source.exec(['cat', record.logPath], { timeoutMs: 10_000 });
  const exit = exitStatusInLog(log.stdout);
  if (exit !== undefined) return finish(ctx, record, exit, log.stdout);
  if (log.code !== 0)
    return finish(
      ctx,
      record,
      -1,
      `the migration's log ${record.logPath} is gone from ${record.source} (host rebooted?)`,
    );
  if (!sawJob && Date.now() - record.startedAt > 60_000)
    return finish(ctx, record, -1, log.stdout || 'virsh migrate never started a job');
  return undefined;
}

/**
 * A KubeVirt migration whose source pod is gone (KubeVirt ends it once its VM has left): the target pod says how it
 * ended.
 */
async function kubevirtOutcome(ctx: WatchContext, record: MigrationRecord): Promise<[number, string]> {
  const target = ctx.registry.get(record.target);
  // its state is its node scan's (each second): still "migrating" at the very end, so looked at for a few seconds
  for (let tries = 12; target && tries > 0; tries--) {
    const state = target.findDomain(record.domainUuid)?.state;
    if (state === 'running' || state === 'paused') return [0, ''];
    await sleep(250);
  }
  return [1, `error: the source pod is gone and ${record.domainName} is not running on ${record.target}`];
}

/** How it ended, told by its log, the source's completed job and the target; recorded in the history. */
async function finish(
  ctx: WatchContext,
  record: MigrationRecord,
  exitCode: number,
  output: string,
): Promise<MigrationRecord> {
  const uri = record.sourceUri ?? ctx.uri;
  const gate = ctx.gates.get(record.id);
  if (gate) {
    gate.switchoverSeen(exitCode);
    record = next(record, { kind: 'gateDone', report: await gate.done });
    ctx.gates.delete(record.id);
  }
  const source = ctx.host(record.source).connection;
  const errorText = output
    .split('\n')
    .filter((l) => l.startsWith('error:'))
    .map((l) => l.replace(/^error:\s*/, ''))
    .join(': ');
  if (exitCode !== 0) ctx.log.debug(`migration ${record.id}: ${output.trim()}`);
  // a run that reads its job's statistics itself (an in-place hop's, before the next hop's job replaces them) leaves
  // them in its log; else the source's completed job has them
  let summary: JobStats | undefined = parseJobStats(output);
  if (summary.type !== 'completed') {
    const completed = await source.exec(jobInfoArgv(uri, record.domainUuid, true)).catch(() => undefined);
    summary = completed?.code === 0 ? parseJobStats(completed.stdout) : undefined;
  }
  let targetProblem: string | undefined;
  let qosFindings: Finding[] = [];
  const target = ctx.registry.get(record.target);
  // an in-place hop is confirmed by its run on the host, which checks where the domain runs before it goes on: read
  // later, the next hop may already have moved it
  if (exitCode === 0 && target && !sameHostHop(record)) {
    // confirm on the target: the domain must be there and running (a discovered migration's target may be unknown)
    await target.refresh().catch(() => undefined);
    const there = target.findDomain(record.domainUuid);
    // a KubeVirt target's state is its node scan's, up to a second old: still "migrating" at the very end
    const arrived = ['running', 'paused', ...(isPodUri(uri) ? ['migrating'] : [])];
    if (!there || !arrived.includes(there.state)) {
      targetProblem = `virsh migrate reported success, but ${record.domainName} is ${there ? there.state : 'not present'} on ${record.target}`;
    }
    // a KubeVirt VM's interfaces and its target pod's libvirt are KubeVirt's: not read here
    if (!targetProblem && !isPodUri(uri)) qosFindings = await qosOnTarget(target.connection, uri, record);
    if ((!summary || summary.type !== 'completed') && !isPodUri(uri)) {
      const incoming = await target.connection.exec(jobInfoArgv(uri, record.domainUuid, true)).catch(() => undefined);
      if (incoming?.code === 0) summary = parseJobStats(incoming.stdout);
    }
  }
  ctx.host(record.source).migrationEnded(record.domainName);
  await ctx
    .host(record.source)
    .refresh()
    .catch(() => undefined);
  let done = next(record, {
    kind: 'ended',
    exitCode,
    errorText,
    abortRequested: ctx.abortRequested.has(record.id),
    summary,
    targetProblem,
    at: Date.now(),
  });
  if (qosFindings.length)
    done = { ...done, findings: [...(done.findings ?? []).filter((f) => !f.id.startsWith('qos-')), ...qosFindings] };
  ctx.abortRequested.delete(record.id);
  if (record.logPath) await source.exec(removeLogArgv(record.logPath)).catch(() => undefined);
  // an operation's migrations (a hot-upgrade's two legs) are one history entry, joined part by part
  const earlier = done.operationId ? await ctx.store.operationRun(done.domainUuid, done.operationId) : undefined;
  await ctx.store.addToHistory(earlier ? joinParts(earlier, done) : done);
  ctx.changed(done);
  ctx.log.info(`migration ${record.id}: ${done.phase}${done.error ? `: ${done.error}` : ''}`);
  return done;
}

/** The domain's interface limits must hold on the target's new devices: a finding either way (none without limits). */
async function qosOnTarget(target: HostConnection, uri: string, record: MigrationRecord): Promise<Finding[]> {
  try {
    return await migratedQosFindings(target, uri, record.domainUuid);
  } catch (e) {
    return [
      {
        id: 'qos-unchecked',
        severity: 'warning',
        title: `Interface limits not checked on ${record.target}`,
        evidence: (e as Error).message,
      },
    ];
  }
}

/** a hop between two libvirt daemons of one host (an in-place upgrade's), run and confirmed by its own script */
const sameHostHop = (r: MigrationRecord) => r.source === r.target && !!(r.sourceUri || r.targetUri);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Rejects after ms (calling onTimeout, which should end what was waited for). */
function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new SshError('timeout', `no answer from the job reader after ${ms} ms`));
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
