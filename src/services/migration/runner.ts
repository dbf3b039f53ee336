/**
 * Runs live migrations and watches them. The migration is started on the source host as a detached
 * `virsh migrate --p2p`, so it survives the editor closing and the SSH link dropping; Ferry observes it (job
 * stats from `domjobinfo --rawstats` on the source) and steers it (speed, max downtime, postcopy, abort).
 * Records of running migrations are persisted, so a reloaded window or a reconnected host re-attaches.
 */
import type { ServiceSettings } from '../settings';
import type { Event } from '../../core/emitter';
import { DisposableStore } from '../../core/disposables';
import { Emitter } from '../../core/emitter';
import type { Finding } from '../../core/diagnosis';
import { isPodUri, kubevirtDomainName, kubevirtOwnsMessage, podUri } from '../../core/kubevirt';
import { capabilityFindings, kubevirtCapFindings } from '../../core/kubevirtDiagnosis';
import type { JobStats } from '../../core/migration/job';
import {
  abortArgv,
  isActiveJob,
  JOB_OPERATION,
  jobInfoArgv,
  optionProblems,
  parseJobStats,
  postcopyArgv,
  setMaxDowntimeArgv,
  setSpeedArgv,
} from '../../core/migration/job';
import type { MigrationEvent, MigrationRecord } from '../../core/migration/record';
import { FINISHED_PHASES, next, plannedRecord } from '../../core/migration/record';
import type { Sample } from '../../core/migration/monitor';
import type { Logger } from '../../transport/logger';
import type { Diagnosis } from '../diagnosis';
import type { ProbedDaemon } from '../diagnosis';
import { diagnoseMigration } from '../diagnosis';
import type { HostRegistry } from '../hostRegistry';
import { LibvirtError, virshErrorText } from '../libvirtError';
import type { Gate } from './gate';
import type { LaunchRequest } from './launch';
import { launchMigration } from './launch';
import type { MigrationStore, WatchContext } from './watch';
import { MIN_SAMPLE_INTERVAL_MS, watchMigration } from './watch';

/**
 * the automatic diagnosis runs once a job has run this long (the host's clock), when rates have settled a little;
 * by job time, not by samples, so that it comes as late whatever the sampling rate (a job done sooner needs none)…
 */
const DIAGNOSE_AFTER_MS = 3000;
/** …and once this watcher has this many readings of it (a run re-attached after a reload starts with none) */
const DIAGNOSE_MIN_SAMPLES = 10;

export class MigrationRunner {
  private readonly disposables = new DisposableStore();
  private readonly changeEmitter = this.disposables.add(new Emitter<MigrationRecord>());
  /** a migration started, changed phase or progress, or ended (not fired for every sample) */
  readonly onDidChange: Event<MigrationRecord> = this.changeEmitter.event;
  private readonly sampleEmitter = this.disposables.add(new Emitter<{ record: MigrationRecord; sample: Sample }>());
  /** every sample, up to 20 per second per running migration */
  readonly onDidSample = this.sampleEmitter.event;
  private readonly active = new Map<string, MigrationRecord>();
  private readonly watchers = new Map<string, Promise<MigrationRecord>>();
  private readonly abortRequested = new Set<string>();

  constructor(
    private readonly registry: HostRegistry,
    private readonly store: MigrationStore,
    private readonly settings: Pick<ServiceSettings, 'libvirtUri'> & {
      /** how often a running job is read (MIN_SAMPLE_INTERVAL_MS unless a benchmark asks otherwise) */
      sampleIntervalMs?: number;
    },
    private readonly log: Logger,
  ) {
    for (const record of store.loadActive()) {
      this.active.set(record.id, next({ ...record, markers: record.markers ?? [] }, { kind: 'restored' }));
    }
    this.disposables.add(
      registry.onDidSeeKubevirtMigration(({ alias, pod }) => {
        const uri = podUri(pod.pod);
        const name = kubevirtDomainName(pod.pod);
        if (pod.domain && uri)
          void this.discover(alias, pod.domain.uuid, name, uri).catch((e: Error) =>
            this.log.warn(`${alias}: KubeVirt's migration of ${name} was seen but could not be followed: ${e.message}`),
          );
      }),
    );
    this.disposables.add(
      registry.onDidSeeMigration(({ alias, domainName }) => {
        const domain = registry.get(alias)?.domains?.find((d) => d.name === domainName);
        if (domain)
          void this.discover(alias, domain.uuid, domainName).catch((e: Error) =>
            this.log.warn(`${alias}: a migration of ${domainName} was seen but could not be followed: ${e.message}`),
          );
      }),
    );
  }

  private readonly discovering = new Set<string>();
  /** runs whose automatic diagnosis has been started (once each) */
  private readonly diagnosed = new Set<string>();

  /**
   * Follow an outgoing migration Ferry did not start (a `virsh migrate` in a shell, an orchestrator's), found through
   * a migration event or asked for by the user. Its job info says whether there is one; the target is the connected
   * host where the domain has appeared. Returns the record (Ferry's own if it started it) or undefined if no
   * migration is running.
   */
  async discover(
    alias: string,
    domainUuid: string,
    domainName: string,
    /** the libvirt it runs under, when not the host's (a KubeVirt pod's) */
    sourceUri?: string,
  ): Promise<MigrationRecord | undefined> {
    const own = this.findByDomain(domainUuid);
    if (own || this.discovering.has(domainUuid)) return own;
    this.discovering.add(domainUuid);
    try {
      const source = this.host(alias);
      const uri = sourceUri ?? this.settings.libvirtUri;
      // KubeVirt's proxy is up before its job starts: look a few times
      let stats: JobStats | undefined;
      for (let tries = sourceUri ? 20 : 1; tries > 0; tries--) {
        const job = await source.connection.exec(jobInfoArgv(uri, domainUuid), { timeoutMs: 10_000 });
        stats = job.code === 0 ? parseJobStats(job.stdout) : undefined;
        if (stats && isActiveJob(stats)) break;
        if (tries > 1) await new Promise((r) => setTimeout(r, 250));
      }
      if (!stats || !isActiveJob(stats) || stats.operation !== JOB_OPERATION.migrationOut) return undefined;
      if (this.findByDomain(domainUuid)) return this.findByDomain(domainUuid); // Ferry's own, registered meanwhile
      const others = this.registry.hosts.filter((h) => h.alias !== alias && h.connection.state.kind === 'connected');
      await Promise.all(others.map((h) => h.refresh().catch(() => undefined)));
      let target = others.find((h) => h.findDomain(domainUuid))?.alias;
      // KubeVirt's target pod is seen by its node's next scan (each second), its domain read after that
      for (let tries = sourceUri ? 20 : 0; !target && tries > 0; tries--) {
        await new Promise((r) => setTimeout(r, 250));
        target = others.find((h) => h.findDomain(domainUuid))?.alias;
      }
      target ??= 'a host Ferry is not connected to';
      const startedAt = Date.now() - (stats.timeElapsedMs ?? 0);
      const record = next(
        {
          ...plannedRecord({
            id: `${domainUuid}-${startedAt}`,
            domainUuid,
            domainName,
            source: alias,
            target,
            startedAt,
          }),
          sourceUri,
        },
        { kind: 'discovered' },
      );
      this.log.info(
        `migration ${record.id}: found ${domainName} migrating ${alias} → ${target}, not started by Ferry; following it`,
      );
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
    return this.byDomain().get(uuid);
  }

  /** Every domain's running migration as findByDomain finds it, in one pass (for a tree of a thousand domains). */
  byDomain(): Map<string, MigrationRecord> {
    const found = new Map<string, MigrationRecord>();
    for (const r of this.running) if (!found.has(r.domainUuid) || !r.discovered) found.set(r.domainUuid, r);
    return found;
  }

  /** Re-attach to migrations recorded before a reload. */
  reattach(): { record: MigrationRecord; done: Promise<MigrationRecord> }[] {
    return this.running.map((record) => ({ record, done: this.watch(record) }));
  }

  private host(alias: string) {
    return this.registry.require(alias);
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

  /** `before`: the phase it had, when the caller already put the new record in place (a job reading does) */
  private changed(record: MigrationRecord, before = this.active.get(record.id)?.phase) {
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
  async start(input: LaunchRequest): Promise<{ record: MigrationRecord; done: Promise<MigrationRecord> }> {
    const problems = optionProblems(input.options);
    if (problems.length) throw new Error(`These migration options cannot work: ${problems.join('; ')}.`);
    if (input.sourceAlias === input.targetAlias)
      throw new Error('Source and target are the same host: libvirt refuses same-host migration.');
    // a migration Ferry only follows is refused below if its job is still running on the source
    if (this.running.some((r) => r.domainUuid === input.domainUuid && !r.discovered)) {
      throw new Error(`${input.domainName} is already being migrated by Ferry.`);
    }
    await this.restoring.get(input.domainUuid); // the domain's last run's max downtime is back before this one reads it
    const { planned, gate } = await launchMigration(
      { registry: this.registry, uri: this.settings.libvirtUri, log: this.log },
      input,
    );
    const record = next(planned, { kind: 'launched' });
    this.changed(record);
    if (gate) this.gates.set(record.id, gate);
    return { record, done: this.watch(record) };
  }

  /**
   * Watch a migration that other work of Ferry's started on a host (an in-place upgrade's hop, run there by its own
   * script) as if started here: the same record, panel, history and re-attachment after a reload.
   */
  follow(record: MigrationRecord): Promise<MigrationRecord> {
    if (this.running.some((r) => r.domainUuid === record.domainUuid && !r.discovered && r.id !== record.id))
      throw new Error(`${record.domainName} is already being migrated by Ferry.`);
    this.changed(record);
    return this.watch(record);
  }

  private readonly gates = new Map<string, Gate>();

  private get watchContext(): WatchContext {
    return {
      registry: this.registry,
      store: this.store,
      uri: this.settings.libvirtUri,
      sampleIntervalMs: this.settings.sampleIntervalMs ?? MIN_SAMPLE_INTERVAL_MS,
      log: this.log,
      gates: this.gates,
      abortRequested: this.abortRequested,
      isDisposed: () => this.disposables.isDisposed,
      host: (alias) => this.host(alias),
      live: (id) => this.active.get(id),
      changed: (record) => this.changed(record),
      sampled: (record, stats) => this.sampled(record, stats),
    };
  }

  private watch(record: MigrationRecord): Promise<MigrationRecord> {
    let watcher = this.watchers.get(record.id);
    if (!watcher) {
      watcher = watchMigration(this.watchContext, record)
        .then(async (end) => (await this.restoreMaxDowntime(end), end))
        .finally(() => this.watchers.delete(record.id));
      this.watchers.set(record.id, watcher);
    }
    return watcher;
  }

  /** Max downtimes being put back, by domain: a new run of the domain waits for its last one's. */
  private readonly restoring = new Map<string, Promise<void>>();

  /** A run that set the domain's max downtime and left it on the source: the value it had before, put back. */
  private restoreMaxDowntime(end: MigrationRecord): Promise<void> {
    const ms = end.maxDowntimeBeforeMs;
    if (ms === undefined || (end.phase !== 'failed' && end.phase !== 'aborted')) return Promise.resolve();
    const inventory = this.registry.get(end.source);
    if (inventory?.domains && !inventory.findDomain(end.domainUuid)) return Promise.resolve(); // it left after all
    const restore = (async () => {
      const r = await inventory?.connection
        .exec(setMaxDowntimeArgv(end.sourceUri ?? this.settings.libvirtUri, end.domainUuid, ms), { logLevel: 'info' })
        .catch((e: Error) => ({ code: -1, stderr: e.message }));
      if (r?.code !== 0)
        this.log.warn(
          `migration ${end.id}: ${end.domainName} keeps the run's max downtime on ${end.source}: putting ${ms} ms back failed (${r ? virshErrorText(r.stderr, r.code) : 'not connected'}); virsh migrate-setmaxdowntime ${end.domainUuid} ${ms} does it`,
        );
    })().finally(() => this.restoring.delete(end.domainUuid));
    this.restoring.set(end.domainUuid, restore);
    return restore;
  }

  /** A reading of a running job: appended to the samples; the record changes only when phase or progress does. */
  private sampled(read: MigrationRecord, stats: JobStats): MigrationRecord {
    // the reading applies to the live record: steering (a switch to postcopy) may have moved it while it was asked
    const record = this.active.get(read.id) ?? read;
    const lastBefore = record.samples.at(-1);
    const moved = next(record, { kind: 'sampled', stats });
    const sample = moved.samples.at(-1);
    if (sample && sample !== lastBefore) {
      // "why is it slow" is about the way between two hosts: an in-place hop has none, and its probes would take
      // the CPU the switchover needs
      const due = sample.t >= DIAGNOSE_AFTER_MS && moved.samples.length >= DIAGNOSE_MIN_SAMPLES && !moved.findings;
      if (due && moved.source !== moved.target && !this.diagnosed.has(moved.id)) {
        this.diagnosed.add(moved.id);
        void this.diagnose(moved.id).catch((e: Error) =>
          this.log.warn(`migration ${moved.id}: diagnosis failed: ${e.message}`),
        );
      }
      this.active.set(moved.id, moved);
      this.sampleEmitter.fire({ record: moved, sample });
    }
    if (moved !== record) this.changed(moved, record.phase);
    return moved;
  }

  /** Probe both hosts and keep the findings with the run (they go into its history). */
  async diagnose(id: string): Promise<Diagnosis> {
    const record = this.active.get(id);
    if (!record) throw new Error('that migration is not running any more');
    const diagnosis = await diagnoseMigration(
      this.registry,
      record,
      this.settings.libvirtUri,
      this.kubevirtDaemons(record),
    );
    diagnosis.findings = [...this.kubevirtFindings(record), ...diagnosis.findings];
    const live = this.active.get(id) ?? record;
    live.findings = diagnosis.findings;
    live.linkMbps = diagnosis.source?.link?.speedMbps ?? live.linkMbps;
    return diagnosis;
  }

  /** A KubeVirt migration's pod on one side, if that node is connected and its scan has seen it. */
  private podOf(record: MigrationRecord, alias: string) {
    return this.registry.get(alias)?.kubevirt.pods.find((p) => p.domain?.uuid === record.domainUuid)?.pod;
  }

  /** For a KubeVirt migration, the pods' libvirt and QEMU the probes read (the QEMU by its PID on the node). */
  private kubevirtDaemons(record: MigrationRecord): { source?: ProbedDaemon; target?: ProbedDaemon } {
    if (!record.sourceUri || !isPodUri(record.sourceUri)) return {};
    const daemon = (alias: string): ProbedDaemon | undefined => {
      const pod = this.podOf(record, alias);
      const uri = pod && podUri(pod);
      return uri && pod.qemu ? { uri, qemuPid: pod.qemu.pid } : undefined;
    };
    return { source: daemon(record.source), target: daemon(record.target) };
  }

  /** For a KubeVirt migration: the QEMU's capabilities (seed 000) and the way its streams take through the proxies. */
  private kubevirtFindings(record: MigrationRecord): Finding[] {
    if (!record.sourceUri || !isPodUri(record.sourceUri)) return [];
    const pod = this.podOf(record, record.source);
    if (!pod) return [];
    return [
      ...capabilityFindings(pod),
      ...kubevirtCapFindings(record.samples),
      {
        id: 'kubevirt-path',
        severity: 'info',
        title: 'KubeVirt carries this migration through proxies',
        evidence:
          `source pod's unix socket /var/run/kubevirt/migrationproxy/${pod.vmiUid ?? '<vmi uid>'}-49152-source.sock → ` +
          `virt-handler on ${record.source} (unix → TCP) → virt-handler on ${record.target} (TCP → unix) → the ` +
          `target pod's QEMU; libvirt's own connection the same way (…-source.sock). Each proxy copies every byte ` +
          `once more in user space.`,
      },
    ];
  }

  private steer(id: string, build: (uri: string, uuid: string) => readonly string[], what: string, marker?: string) {
    const record = this.active.get(id);
    if (!record) throw new Error('that migration is not running any more');
    const refusal = kubevirtRefusal(record, what);
    if (refusal) return Promise.reject(refusal);
    return this.host(record.source)
      .connection.exec(build(record.sourceUri ?? this.settings.libvirtUri, record.domainUuid), {
        logLevel: 'info',
        timeoutMs: 30_000,
      })
      .then((r) => {
        if (r.code !== 0) throw new LibvirtError(record.source, `${what}: ${virshErrorText(r.stderr, r.code)}`);
        if (marker) this.apply(id, { kind: 'steered', label: marker });
      });
  }

  setBandwidth(id: string, mibps: number) {
    return this.steer(
      id,
      (uri, uuid) => setSpeedArgv(uri, uuid, mibps),
      'setting bandwidth',
      `bandwidth ${mibps} MiB/s`,
    );
  }
  setMaxDowntime(id: string, ms: number) {
    return this.steer(
      id,
      (uri, uuid) => setMaxDowntimeArgv(uri, uuid, ms),
      'setting max downtime',
      `max downtime ${ms} ms`,
    );
  }
  async switchToPostcopy(id: string) {
    const record = this.active.get(id);
    if (record?.options && record.options.postcopy === 'off')
      throw new Error('this migration was started without postcopy enabled; it cannot switch');
    await this.steer(id, postcopyArgv, 'switching to postcopy');
    this.apply(id, { kind: 'steered', label: 'postcopy (switched by hand)', postcopy: true });
  }
  async abort(id: string) {
    const record = this.active.get(id);
    const refusal = record && kubevirtRefusal(record, 'aborting');
    if (refusal) throw refusal;
    this.abortRequested.add(id);
    await this.steer(id, abortArgv, 'aborting');
  }

  dispose(): void {
    this.disposables.dispose();
  }
}

/** A KubeVirt migration is KubeVirt's to steer: the error that says so, with what to use instead. */
function kubevirtRefusal(record: MigrationRecord, what: string): Error | undefined {
  if (!record.sourceUri || !isPodUri(record.sourceUri)) return undefined;
  // KubeVirt names a domain <namespace>_<vm>; a namespace holds no '_'
  const [namespace, ...vm] = record.domainName.split('_');
  return new Error(kubevirtOwnsMessage({ namespace, vm: vm.join('_') }, what));
}
