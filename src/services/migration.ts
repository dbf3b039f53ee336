/**
 * Runs live migrations and watches them. The migration is started on the source host as a detached
 * `virsh migrate --p2p`, so it survives the editor closing and the SSH link dropping; Ferry observes it (job
 * stats from `domjobinfo --rawstats` on the source) and steers it (speed, max downtime, postcopy, abort).
 * Records of running migrations are persisted, so a reloaded window or a reconnected host re-attaches.
 */
import type { Event } from '../core/emitter';
import { DisposableStore } from '../core/disposables';
import { deferred, Emitter } from '../core/emitter';
import type { JobStats, MigrationOptions } from '../core/migration';
import {
  abortArgv,
  exitLine,
  exitStatusInLog,
  isActiveJob,
  JOB_OPERATION,
  jobInfoArgv,
  migrateArgv,
  optionProblems,
  parseJobStats,
  postcopyArgv,
  setMaxDowntimeArgv,
  setSpeedArgv,
  targetUri,
} from '../core/migration';
import type { Versions } from '../core/hostFacts';
import type { GateReport, MigrationEvent, MigrationRecord } from '../core/migrationRecord';
import { FINISHED_PHASES, next, plannedRecord } from '../core/migrationRecord';
import type { Sample } from '../core/monitor';
import { JobReader } from './jobSampler';
import type { Diagnosis } from './diagnosis';
import { diagnoseMigration } from './diagnosis';
import { addressListProblem, loadText, replaceText } from '../core/conntrack';
import { netfilterBackend } from './conntrack';
import type { Logger } from '../transport/logger';
import { afterGoArgv, GO } from '../transport/quote';
import { SshError } from '../transport/sshError';
import type { HostRegistry } from './hostRegistry';
import { LibvirtError, virshErrorText } from './inventory';

/** "Keep TCP connections": migrate with --suspend, sync conntrack, resume the target after the final import. */
export interface KeepConnections {
  addresses: string[];
  /** the final import's budget; past it the target is resumed anyway (ferry.conntrack.budgetMs) */
  budgetMs: number;
}

/** A prepared switchover gate: `switchoverSeen(0)` runs it, any other exit status ends it without running. */
interface Gate {
  done: Promise<GateReport>;
  switchoverSeen(exitCode: number): void;
}

/** If Ferry is gone when the switchover comes, the source host itself resumes the target after this long. */
const GATE_FAILSAFE_S = 10;

export interface MigrationStore {
  loadActive(): MigrationRecord[];
  saveActive(records: MigrationRecord[]): Promise<void>;
  addToHistory(record: MigrationRecord): Promise<void>;
}

/** the reader asks this often (a little over 10 Hz); a slower answer makes the next ask wait for it, never two in flight */
const SAMPLE_INTERVAL_MS = 90;
const READ_TIMEOUT_MS = 10_000;
/** the automatic diagnosis runs once this many samples (~3 s) into a run, when rates have settled a little */
const DIAGNOSE_AFTER_SAMPLES = 30;

export class MigrationRunner {
  private readonly disposables = new DisposableStore();
  private readonly changeEmitter = this.disposables.add(new Emitter<MigrationRecord>());
  /** a migration started, changed phase or progress, or ended (not fired for every sample) */
  readonly onDidChange: Event<MigrationRecord> = this.changeEmitter.event;
  private readonly sampleEmitter = this.disposables.add(new Emitter<{ record: MigrationRecord; sample: Sample }>());
  /** every sample, ~10 per second per running migration */
  readonly onDidSample = this.sampleEmitter.event;
  private readonly active = new Map<string, MigrationRecord>();
  private readonly watchers = new Map<string, Promise<MigrationRecord>>();
  private readonly abortRequested = new Set<string>();

  constructor(
    private readonly registry: HostRegistry,
    private readonly store: MigrationStore,
    private readonly uri: () => string,
    private readonly log: Logger,
  ) {
    for (const record of store.loadActive()) {
      this.active.set(record.id, next({ ...record, markers: record.markers ?? [] }, { kind: 'restored' }));
    }
    this.disposables.add(
      registry.onDidSeeMigration(({ alias, domainName }) => {
        const domain = registry.get(alias)?.domains?.find((d) => d.name === domainName);
        if (domain) void this.discover(alias, domain.uuid, domainName).catch((e: Error) => this.log.warn(`${alias}: a migration of ${domainName} was seen but could not be followed: ${e.message}`));
      }),
    );
  }

  private readonly discovering = new Set<string>();

  /**
   * Follow an outgoing migration Ferry did not start (a `virsh migrate` in a shell, an orchestrator's), found through
   * a migration event or asked for by the user. Its job info says whether there is one; the target is the connected
   * host where the domain has appeared. Returns the record (Ferry's own if it started it) or undefined if no
   * migration is running.
   */
  async discover(alias: string, domainUuid: string, domainName: string): Promise<MigrationRecord | undefined> {
    const own = this.findByDomain(domainUuid);
    if (own || this.discovering.has(domainUuid)) return own;
    this.discovering.add(domainUuid);
    try {
      const source = this.host(alias);
      const job = await source.connection.exec(jobInfoArgv(this.uri(), domainUuid), { timeoutMs: 10_000 });
      const stats = job.code === 0 ? parseJobStats(job.stdout) : undefined;
      if (!stats || !isActiveJob(stats) || stats.operation !== JOB_OPERATION.migrationOut) return undefined;
      if (this.findByDomain(domainUuid)) return this.findByDomain(domainUuid); // Ferry's own, registered meanwhile
      const others = this.registry.hosts.filter((h) => h.alias !== alias && h.connection.state.kind === 'connected');
      await Promise.all(others.map((h) => h.refresh().catch(() => undefined)));
      const target = others.find((h) => h.findDomain(domainUuid))?.alias ?? 'a host Ferry is not connected to';
      const startedAt = Date.now() - (stats.timeElapsedMs ?? 0);
      const record = next(plannedRecord({ id: `${domainUuid}-${startedAt}`, domainUuid, domainName, source: alias, target, startedAt }), { kind: 'discovered' });
      this.log.info(`migration ${record.id}: found ${domainName} migrating ${alias} → ${target}, not started by Ferry; following it`);
      this.changed(record);
      void this.watch(record);
      return record;
    } finally {
      this.discovering.delete(domainUuid);
    }
  }

  get running(): MigrationRecord[] {
    return [...this.active.values()];
  }

  /** The domain's running migration: Ferry's own first, else one it follows (which may just be ending). */
  findByDomain(uuid: string): MigrationRecord | undefined {
    return this.running.find((r) => r.domainUuid === uuid && !r.discovered) ?? this.running.find((r) => r.domainUuid === uuid);
  }

  /** Re-attach to migrations recorded before a reload. */
  reattach(): { record: MigrationRecord; done: Promise<MigrationRecord> }[] {
    return this.running.map((record) => ({ record, done: this.watch(record) }));
  }

  private host(alias: string) {
    const inventory = this.registry.get(alias);
    if (!inventory) throw new Error(`${alias} is not a configured host`);
    return inventory;
  }

  /** A running migration's live record (finished ones are in the store's history). */
  get(id: string): MigrationRecord | undefined {
    return this.active.get(id);
  }

  /** The live record moved by `event` (next() decides), stored and announced if it changed. */
  private apply(id: string, event: MigrationEvent): MigrationRecord | undefined {
    const record = this.active.get(id);
    if (!record) return undefined;
    const moved = next(record, event);
    if (moved !== record) this.changed(moved);
    return moved;
  }

  private changed(record: MigrationRecord) {
    const before = this.active.get(record.id)?.phase;
    if (FINISHED_PHASES.includes(record.phase)) this.active.delete(record.id);
    else this.active.set(record.id, record);
    // what is stored (a record without its samples) only matters when a migration starts, changes phase or ends
    if (before !== record.phase) void this.store.saveActive(this.running);
    this.changeEmitter.fire(record);
  }

  /**
   * Start a migration (options already validated by preflight) and return its record at once; `done` resolves when
   * it has completed, failed or been aborted.
   */
  async start(input: {
    sourceAlias: string;
    targetAlias: string;
    domainUuid: string;
    domainName: string;
    options: MigrationOptions;
    versions?: { source?: Versions; target?: Versions };
    keepConnections?: KeepConnections;
  }): Promise<{ record: MigrationRecord; done: Promise<MigrationRecord> }> {
    const problems = optionProblems(input.options);
    if (problems.length) throw new Error(`These migration options cannot work: ${problems.join('; ')}.`);
    if (input.sourceAlias === input.targetAlias) throw new Error('Source and target are the same host: libvirt refuses same-host migration.');
    // a migration Ferry only follows is refused below if its job is still running on the source
    if (this.running.some((r) => r.domainUuid === input.domainUuid && !r.discovered)) {
      throw new Error(`${input.domainName} is already being migrated by Ferry.`);
    }
    const source = this.host(input.sourceAlias).connection;
    const uri = this.uri();
    for (const c of [source, this.host(input.targetAlias).connection]) {
      if (c.state.kind !== 'connected') throw new Error(`${c.alias} is not connected${c.state.kind === 'failed' ? `: ${c.state.error.message}` : ''}; connect it first.`);
    }
    // never a second migration of a domain that already has a job (another tool's migration, a save, ...)
    const job = await source.exec(jobInfoArgv(uri, input.domainUuid));
    if (job.code !== 0) throw new LibvirtError(input.sourceAlias, virshErrorText(job.stderr, job.code));
    const current = parseJobStats(job.stdout);
    if (isActiveJob(current)) {
      throw new Error(`${input.domainName} already has a running job on ${input.sourceAlias}${current.operation === JOB_OPERATION.migrationOut ? ' (an outgoing migration)' : ''}; Ferry will not start another.`);
    }
    const targetHost = await this.registry.resolve(input.targetAlias);
    const startedAt = Date.now();
    const id = `${input.domainUuid}-${startedAt}`;
    // the log lives in a directory only root can enter, made fresh by mktemp: another local user can neither read it
    // nor put a file or link where it will be written
    const made = await source.exec(['mktemp', '-d', '/tmp/ferry-migrate.XXXXXXXXXX']);
    const logDir = made.stdout.trim();
    if (made.code !== 0 || !/^\/tmp\/ferry-migrate\.[A-Za-z0-9]{10}$/.test(logDir)) throw new Error(`could not make a private directory on ${input.sourceAlias}: ${made.stderr.trim() || logDir}`);
    const logPath = `${logDir}/virsh.log`;
    const planned = plannedRecord({
      id,
      domainUuid: input.domainUuid,
      domainName: input.domainName,
      source: input.sourceAlias,
      target: input.targetAlias,
      options: input.options,
      startedAt,
      logPath,
      sourceVersions: input.versions?.source,
      targetVersions: input.versions?.target,
    });
    if (input.options.maxDowntimeMs !== undefined) {
      const r = await source.exec(setMaxDowntimeArgv(uri, input.domainUuid, input.options.maxDowntimeMs), { logLevel: 'info' });
      if (r.code !== 0) throw new LibvirtError(input.sourceAlias, `setting max downtime: ${virshErrorText(r.stderr, r.code)}`);
    }
    const keep = input.keepConnections;
    if (keep) {
      if (!keep.addresses.length) throw new Error('"Keep TCP connections" needs the VM\'s IP addresses.');
      const problem = addressListProblem(keep.addresses.join(' '), this.host(input.sourceAlias).domainsOtherThan(input.domainUuid));
      if (problem) throw new Error(`"Keep TCP connections": ${problem}.`);
      await Promise.all([netfilterBackend.check(source), netfilterBackend.check(this.host(input.targetAlias).connection)]);
      planned.gate = { addresses: keep.addresses };
    }
    const destUri = targetUri(targetHost);
    const argv = migrateArgv(uri, input.domainUuid, destUri, input.options, !!keep);
    // detached from the SSH session (setsid, no stdin): closing VS Code or losing the link does not stop it. With a
    // gate the domain waits paused on the target; if Ferry is gone by then, the source resumes it after a while.
    const inner = 'failsafe=$1; turi=$2; uuid=$3; shift 3; "$@"; rc=$?; echo "ferry-exit=$rc"; ' +
      'if [ "$rc" = 0 ] && [ "$failsafe" != 0 ]; then sleep "$failsafe"; virsh -q -c "$turi" resume "$uuid" >/dev/null 2>&1 && echo ferry-failsafe-resumed; fi';
    const gate = keep ? this.prepareGate(planned, logPath, keep, destUri) : undefined;
    const launch = await source.exec(
      // set -C: the log must be a new file (noclobber), never one found in its place
      ['sh', '-c', 'umask 077; set -C; log=$1; inner=$2; shift 2; : >"$log" || exit 1; set +C; setsid sh -c "$inner" ferry-migrate "$@" >>"$log" 2>&1 </dev/null & echo "$!"', 'ferry', logPath, inner,
        String(keep ? GATE_FAILSAFE_S : 0), destUri, input.domainUuid, ...argv],
      { logLevel: 'info' },
    );
    if (launch.code !== 0) {
      gate?.switchoverSeen(-1);
      throw new Error(`could not start virsh migrate on ${input.sourceAlias}: ${launch.stderr.trim()}`);
    }
    this.log.info(`migration ${id}: ${input.domainName} ${input.sourceAlias} → ${input.targetAlias} started (log ${logPath} on ${input.sourceAlias})`);
    const record = next(planned, { kind: 'launched' });
    this.changed(record);
    if (gate) this.gates.set(record.id, gate);
    return { record, done: this.watch(record) };
  }

  private readonly gates = new Map<string, Gate>();

  /**
   * The gated switchover. Channels are opened now and wait: one watches virsh's log for the end of the migration,
   * one lists the flows on the source at once (the bulk copy, loaded on the target while memory moves) and will list
   * what changed since, one will load those on the target, one will resume the target. At the switchover they only
   * need a go, so the extra pause is the second listing, its load and the resume, not SSH set-up or the bulk.
   */
  private prepareGate(record: MigrationRecord, logPath: string, keep: KeepConnections, destUri: string): Gate {
    const source = this.host(record.source).connection;
    const target = this.host(record.target).connection;
    const importData = deferred<string>();
    const resumeGo = deferred<string>();
    const listing = netfilterBackend.snapshotThenChanges(source, keep.addresses);
    const importing = netfilterBackend.import(target, importData.promise);
    const resuming = target.exec(afterGoArgv(['virsh', '-q', '-c', this.uri(), 'resume', record.domainUuid]), { stdin: resumeGo.promise, logLevel: 'info' });
    for (const waiting of [listing, importing, resuming]) waiting.catch(() => undefined); // awaited only on a switchover
    const cancel = () => {
      // end every waiting channel: the gated commands never run
      void listing.then((l) => l.cancel(), () => undefined);
      importData.resolve('');
      resumeGo.resolve('');
    };
    const report: GateReport = { addresses: keep.addresses };
    const switchover = deferred<number>();
    let logStream: { close(): void } | undefined;
    void source
      .stream(['tail', '-n', '+1', '-F', logPath], (line) => {
        const exit = exitLine(line);
        if (exit !== undefined) switchover.resolve(exit);
      })
      .then((s) => (logStream = s), () => switchover.resolve(-1));
    // the bulk copy while memory is copied: most flows are in place before the switchover
    const bulkCopied = listing
      .then((l) => l.snapshot)
      .then(async (bulk) => {
        await netfilterBackend.import(target, Promise.resolve(loadText(bulk.flows)));
        report.bulkEntries = bulk.flows.length;
      })
      .catch((e: Error) => this.log.warn(`migration ${record.id}: bulk conntrack copy failed: ${e.message}`));
    const done = (async (): Promise<GateReport> => {
      const exit = await switchover.promise;
      logStream?.close();
      if (exit !== 0) {
        cancel();
        return report;
      }
      const started = performance.now();
      const lap = (since: number) => Math.round(performance.now() - since);
      try {
        const { flows } = await (await listing).changes();
        report.listMs = lap(started);
        report.finalChanged = flows.length;
        await bulkCopied; // (long done unless the migration was very short) the changes must land after the bulk
        importData.resolve(replaceText(flows)); // changed flows replace the bulk copy's older state
        const loading = performance.now();
        // nothing changed since the bulk copy: the target already holds every flow, no need to wait for the load
        const left = keep.budgetMs - (performance.now() - started);
        const inTime = !flows.length || (await Promise.race([importing.then(() => true, () => false), new Promise<'late'>((r) => setTimeout(() => r('late'), Math.max(0, left)))]));
        report.loadMs = lap(loading);
        if (inTime === 'late') {
          report.budgetExceeded = true;
          report.missing = flows.length;
        } else if (!inTime) {
          report.missing = flows.length;
          report.error = 'the final conntrack import failed';
        } else report.missing = 0;
      } catch (e) {
        report.error = `final conntrack sync: ${(e as Error).message}`;
        importData.resolve('');
      }
      const resumeAt = performance.now();
      resumeGo.resolve(GO); // resume anyway: a paused VM is worse than a few lost flows
      // the target's link may be gone by now: that goes into the report; the run still ends and is recorded
      const resumed = await resuming.catch((e: Error) => ({ code: -1, stderr: `${e.message} (the domain may still be paused there: check it)` }));
      report.resumeMs = lap(resumeAt);
      report.extraPauseMs = Math.round(performance.now() - started);
      const problems = [report.error, resumed.code !== 0 && `resuming on ${record.target}: ${resumed.stderr.trim()}`];
      report.error = problems.filter(Boolean).join('; ') || undefined;
      if (report.budgetExceeded) {
        this.log.warn(`migration ${record.id}: the final conntrack import overran its ${keep.budgetMs} ms budget; the domain was resumed with ${report.missing} flows not yet confirmed (the import goes on)`);
      }
      this.log.info(`migration ${record.id}: switchover gate: ${report.bulkEntries ?? 0} flows copied in bulk, ${report.finalChanged ?? 0} new or changed since, extra pause ${report.extraPauseMs} ms (list ${report.listMs ?? '?'}, load ${report.loadMs ?? '?'}, resume ${report.resumeMs ?? '?'}) via ${destUri}`);
      return report;
    })().catch((e: Error) => ({ ...report, error: [report.error, `switchover gate: ${e.message}`].filter(Boolean).join('; ') }));
    // the poll loop reads the same exit status from the log: whichever sees it first opens the gate
    return { done, switchoverSeen: (code) => switchover.resolve(code) };
  }

  private watch(record: MigrationRecord): Promise<MigrationRecord> {
    let watcher = this.watchers.get(record.id);
    if (!watcher) {
      watcher = this.poll(record).finally(() => this.watchers.delete(record.id));
      this.watchers.set(record.id, watcher);
    }
    return watcher;
  }

  private async poll(record: MigrationRecord): Promise<MigrationRecord> {
    const uri = this.uri();
    let sawJob = false;
    let reader: JobReader | undefined;
    try {
      while (!this.disposables.isDisposed) {
        record = this.active.get(record.id) ?? record; // steering moves the live record between readings
        const source = this.host(record.source);
        const askedAt = performance.now();
        try {
          if (source.connection.state.kind !== 'connected') await source.connection.connect(false);
          reader ??= await JobReader.open(source.connection, uri, record.domainUuid);
          const { stats } = await withTimeout(reader.read(), READ_TIMEOUT_MS, () => reader?.close());
          if (isActiveJob(stats)) {
            sawJob = true;
            record = this.sampled(record, stats);
          } else {
            reader.close();
            reader = undefined;
            const ended = await this.ended(record, sawJob);
            if (ended) return ended;
            await sleep(500); // no job yet (virsh migrate still setting up) or just gone: look again shortly
            continue;
          }
        } catch (e) {
          reader?.close();
          reader = undefined;
          const lost = next(record, { kind: 'linkLost' });
          if (lost !== record) {
            this.changed((record = lost));
            this.log.warn(`migration ${record.id}: lost sight of ${record.source} (${(e as Error).message}); the migration goes on without Ferry, re-attaching when the host is back`);
          }
          if (!(e instanceof SshError)) this.log.error(`migration ${record.id}: ${(e as Error).message}`);
          await sleep(2000);
          continue;
        }
        await sleep(SAMPLE_INTERVAL_MS - (performance.now() - askedAt));
      }
      return record;
    } finally {
      reader?.close();
    }
  }

  /** A reading of a running job: appended to the samples; the record changes only when phase or progress does. */
  private sampled(record: MigrationRecord, stats: JobStats): MigrationRecord {
    const lastBefore = record.samples.at(-1);
    const moved = next(record, { kind: 'sampled', stats });
    const sample = moved.samples.at(-1);
    if (sample && sample !== lastBefore) {
      if (moved.samples.length === DIAGNOSE_AFTER_SAMPLES) void this.diagnose(moved.id).catch((e: Error) => this.log.warn(`migration ${moved.id}: diagnosis failed: ${e.message}`));
      this.active.set(moved.id, moved);
      this.sampleEmitter.fire({ record: moved, sample });
    }
    if (moved !== record) this.changed(moved);
    return moved;
  }

  /** Probe both hosts and keep the findings with the run (they go into its history). */
  async diagnose(id: string): Promise<Diagnosis> {
    const record = this.active.get(id);
    if (!record) throw new Error('that migration is not running any more');
    const diagnosis = await diagnoseMigration(this.registry, record, this.uri());
    const live = this.active.get(id) ?? record;
    live.findings = diagnosis.findings;
    live.linkMbps = diagnosis.source?.link?.speedMbps ?? live.linkMbps;
    return diagnosis;
  }

  /** The job is not (or not yet) running on the source: has the migration ended, and how? */
  private async ended(record: MigrationRecord, sawJob: boolean): Promise<MigrationRecord | undefined> {
    const source = this.host(record.source).connection;
    if (!record.logPath) {
      // discovered: no log of ours; libvirt's completed job says how it ended
      const completed = await source.exec(jobInfoArgv(this.uri(), record.domainUuid, true), { timeoutMs: 10_000 });
      const stats = completed.code === 0 ? parseJobStats(completed.stdout) : undefined;
      const exit = stats?.type === 'completed' ? 0 : 1;
      const why = stats?.type === 'cancelled' ? 'error: operation aborted' : stats?.type === 'failed' ? 'error: the migration failed (see libvirt\'s log on the source)' : '';
      return this.finish(record, exit, why);
    }
    const log = await source.exec(['cat', record.logPath], { timeoutMs: 10_000 });
    const exit = exitStatusInLog(log.stdout);
    if (exit !== undefined) return this.finish(record, exit, log.stdout);
    if (log.code !== 0) return this.finish(record, -1, `the migration's log ${record.logPath} is gone from ${record.source} (host rebooted?)`);
    if (!sawJob && Date.now() - record.startedAt > 60_000) return this.finish(record, -1, log.stdout || 'virsh migrate never started a job');
    return undefined;
  }

  private async finish(record: MigrationRecord, exitCode: number, output: string): Promise<MigrationRecord> {
    const uri = this.uri();
    const gate = this.gates.get(record.id);
    if (gate) {
      gate.switchoverSeen(exitCode);
      record = next(record, { kind: 'gateDone', report: await gate.done });
      this.gates.delete(record.id);
    }
    const source = this.host(record.source).connection;
    const errorText = output.split('\n').filter((l) => l.startsWith('error:')).map((l) => l.replace(/^error:\s*/, '')).join(': ');
    if (exitCode !== 0) this.log.debug(`migration ${record.id}: ${output.trim()}`);
    let summary: JobStats | undefined;
    const completed = await source.exec(jobInfoArgv(uri, record.domainUuid, true)).catch(() => undefined);
    if (completed?.code === 0) summary = parseJobStats(completed.stdout);
    let targetProblem: string | undefined;
    const target = this.registry.get(record.target);
    if (exitCode === 0 && target) {
      // confirm on the target: the domain must be there and running (a discovered migration's target may be unknown)
      await target.refresh().catch(() => undefined);
      const there = target.findDomain(record.domainUuid);
      if (!there || (there.state !== 'running' && there.state !== 'paused')) {
        targetProblem = `virsh migrate reported success, but ${record.domainName} is ${there ? there.state : 'not present'} on ${record.target}`;
      }
      if (!summary || summary.type !== 'completed') {
        const incoming = await target.connection.exec(jobInfoArgv(uri, record.domainUuid, true)).catch(() => undefined);
        if (incoming?.code === 0) summary = parseJobStats(incoming.stdout);
      }
    }
    this.host(record.source).migrationEnded(record.domainName);
    await this.host(record.source).refresh().catch(() => undefined);
    const done = next(record, { kind: 'ended', exitCode, errorText, abortRequested: this.abortRequested.has(record.id), summary, targetProblem, at: Date.now() });
    this.abortRequested.delete(record.id);
    if (record.logPath) await source.exec(['sh', '-c', 'rm -f -- "$1" && rmdir -- "${1%/*}"', 'ferry-clean', record.logPath]).catch(() => undefined);
    await this.store.addToHistory(done);
    this.changed(done);
    this.log.info(`migration ${record.id}: ${done.phase}${done.error ? `: ${done.error}` : ''}`);
    return done;
  }

  private steer(id: string, build: (uri: string, uuid: string) => readonly string[], what: string, marker?: string) {
    const record = this.active.get(id);
    if (!record) throw new Error('that migration is not running any more');
    return this.host(record.source).connection.exec(build(this.uri(), record.domainUuid), { logLevel: 'info', timeoutMs: 30_000 }).then((r) => {
      if (r.code !== 0) throw new LibvirtError(record.source, `${what}: ${virshErrorText(r.stderr, r.code)}`);
      if (marker) this.apply(id, { kind: 'steered', label: marker });
    });
  }

  setBandwidth(id: string, mibps: number) {
    return this.steer(id, (uri, uuid) => setSpeedArgv(uri, uuid, mibps), 'setting bandwidth', `bandwidth ${mibps} MiB/s`);
  }
  setMaxDowntime(id: string, ms: number) {
    return this.steer(id, (uri, uuid) => setMaxDowntimeArgv(uri, uuid, ms), 'setting max downtime', `max downtime ${ms} ms`);
  }
  async switchToPostcopy(id: string) {
    const record = this.active.get(id);
    if (record?.options && record.options.postcopy === 'off') throw new Error('this migration was started without postcopy enabled; it cannot switch');
    await this.steer(id, postcopyArgv, 'switching to postcopy');
    this.apply(id, { kind: 'steered', label: 'postcopy (switched by hand)', postcopy: true });
  }
  async abort(id: string) {
    this.abortRequested.add(id);
    await this.steer(id, abortArgv, 'aborting');
  }

  dispose(): void {
    this.disposables.dispose();
  }
}

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
