/**
 * MigrationRunner and its watcher on two fake hosts (inventories answering from the lab's captured listings) under fake
 * timers. The job readings are the lab's recorded series (test/fixtures/series/) printed as `domjobinfo --rawstats`
 * prints them; the end is the captured completed job (domjobinfo-rawstats-completed.txt); discovery starts from the
 * captured migration events (virsh-event-migration.txt). What test/integration/migration.test.ts and monitor.test.ts
 * check against the lab that does not need a real libvirt: one job reader for the whole job, the phases, the summary
 * read without deleting it, the history, a lost source shown as unknown and re-attached, an abort, a reload.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Emitter } from '../../src/core/emitter';
import { abortArgv, getMaxDowntimeArgv, jobInfoArgv, PROFILES, setMaxDowntimeArgv } from '../../src/core/migration/job';
import type { Sample } from '../../src/core/migration/monitor';
import type { MigrationRecord } from '../../src/core/migration/record';
import { virsh } from '../../src/core/virsh';
import type { HostRegistry } from '../../src/services/hostRegistry';
import { HostInventory } from '../../src/services/inventory';
import { MigrationRunner } from '../../src/services/migration/runner';
import type { MigrationStore } from '../../src/services/migration/watch';
import { silentLogger } from '../../src/transport/logger';
import { fixture, FakeHost, isEventStream, VirshModel } from '../support/fakeHost';
import { seriesNamed } from './recordedRuns';

const URI = 'qemu:///system';
const LOG_DIR = '/tmp/ferry-migrate.AbCdEf0123';
const LOG = `${LOG_DIR}/virsh.log`;
const NO_JOB = 'Job type: 0\n\n';

/** a recorded sample as `virsh domjobinfo --rawstats` prints it on the source while the job runs */
const rawstats = (s: Sample) =>
  [
    'Job type: 2',
    '',
    'operation: 5',
    `time_elapsed: ${s.t}`,
    ...(s.expectedDowntimeMs === undefined ? [] : [`downtime: ${s.expectedDowntimeMs}`]),
    `data_total: ${s.total}`,
    `data_processed: ${s.processed}`,
    `data_remaining: ${s.remaining}`,
    `memory_bps: ${s.bps}`,
    `memory_dirty_rate: ${s.dirtyBps / 4096}`,
    `memory_iteration: ${s.iteration}`,
    `memory_postcopy_requests: ${s.postcopyRequests ?? 0}`,
    'memory_page_size: 4096',
    ...(s.throttle === undefined ? [] : [`auto_converge_throttle: ${s.throttle}`]),
    '',
  ].join('\n');

let modelA: VirshModel;
let modelB: VirshModel;
let hostA: FakeHost;
let hostB: FakeHost;
let inventories: Map<string, HostInventory<FakeHost>>;
let registry: HostRegistry;
let store: MigrationStore & { saved: MigrationRecord[][]; history: MigrationRecord[] };
let runners: MigrationRunner[];
let tiny1: string;
/** what the source's libvirt says of the job: the readings still to come (then none), the log virsh migrate writes */
let job: { started: boolean; readings: string[]; log: string; aborted: boolean; onEmpty?: () => void };

const settle = async (ms = 0) => {
  await vi.advanceTimersByTimeAsync(ms);
  for (let i = 0; i < 30; i++) await Promise.resolve();
};
/** time passes in steps of the sampling interval until `done` settles (or gives up) */
async function until<T>(done: Promise<T>, maxMs = 120_000): Promise<T> {
  let over = false;
  void done.finally(() => (over = true));
  for (let t = 0; !over && t < maxMs; t += 45) await settle(45);
  expect(over).toBe(true);
  return done;
}
const jobReaders = (host: FakeHost) => host.sessions.filter((s) => s.written.includes('domjobinfo'));
const asked = (host: FakeHost, argv: readonly string[]) => host.execsOf((a) => a.join(' ') === argv.join(' ')).length;
const newRunner = (s: MigrationStore = store) => {
  const runner = new MigrationRunner(registry, s, { libvirtUri: URI }, silentLogger);
  runners.push(runner);
  return runner;
};
/** virsh migrate ends: the job gone, its launcher's exit marker in the log; the domain running on hostB */
const migrateEnds = () => {
  modelB.define(tiny1, 'tiny1', {
    'state.state': '1',
    'state.reason': '2',
    'vcpu.current': '1',
    'vcpu.maximum': '1',
    'balloon.current': '524288',
    'balloon.maximum': '524288',
  });
  modelA.setState('tiny1', 5, 3);
  job.log = 'Migration: [100 %]\nferry-exit=0\n';
};

/** tiny1 from hostA to hostB with a profile's options */
const tiny1Run = (options = PROFILES.safe.options) => ({
  sourceAlias: 'hostA',
  targetAlias: 'hostB',
  domainUuid: tiny1,
  domainName: 'tiny1',
  options,
});
/** a run started and read `readings` times, then the window reloaded: the new runner, the run restored unknown */
async function startThenReload(readings: string[]) {
  const first = newRunner();
  job.readings = readings;
  const { record } = await first.start(tiny1Run());
  await settle(45 * 3);
  first.dispose();
  await settle(100);
  return { record, reloaded: newRunner({ ...store, loadActive: () => store.saved.at(-1)! }) };
}

beforeEach(async () => {
  vi.useFakeTimers();
  runners = [];
  job = { started: false, readings: [], log: '', aborted: false };
  modelA = VirshModel.fromCapture();
  modelB = new VirshModel();
  tiny1 = modelA.domains.find((d) => d.name === 'tiny1')!.uuid;
  hostA = modelA.serve(new FakeHost('hostA'));
  hostB = modelB.serve(new FakeHost('hostB'));
  // the job reader's questions, answered from the readings scripted; the listing shell's as captured
  hostA.shell = (words) => {
    if (words[0] !== 'domjobinfo') return modelA.shell(words);
    if (!job.readings.length) job.onEmpty?.();
    return job.readings.shift() ?? NO_JOB;
  };
  const completed = jobInfoArgv(URI, tiny1, true).join(' ');
  hostA
    .onExec(
      (a) => a.join(' ') === jobInfoArgv(URI, tiny1).join(' '),
      () => ({ stdout: (job.started && job.readings[0]) || NO_JOB }),
    )
    .onExec(
      (a) => a.join(' ') === completed,
      () => ({
        stdout: job.aborted
          ? 'Job type: 5\n\noperation: 5\ntime_elapsed: 900\n'
          : fixture('domjobinfo-rawstats-completed.txt'),
      }),
    )
    .onExec((a) => a[0] === 'mktemp', { stdout: `${LOG_DIR}\n` })
    .onExec(
      (a) => a[0] === 'sh' && a[3] === 'ferry' && a[4] === LOG,
      () => ((job.started = true), { stdout: '4242\n' }),
    )
    .onExec(
      (a) => a.join(' ') === `cat ${LOG}`,
      () => ({ stdout: job.log }),
    )
    .onExec((a) => a[0] === 'sh' && a[3] === 'ferry-clean', { code: 0 })
    .onExec(
      (a) => a.join(' ') === abortArgv(URI, tiny1).join(' '),
      () => {
        job.readings = [];
        job.aborted = true;
        job.log = 'error: operation aborted: migration out job: canceled by client\nferry-exit=1\n';
        return { stdout: '' };
      },
    );
  inventories = new Map([hostA, hostB].map((h) => [h.alias, new HostInventory(h, URI, silentLogger, 3000)]));
  const seen = new Emitter<{ alias: string; domainName: string }>();
  for (const [alias, inventory] of inventories)
    inventory.onDidSeeMigration((domainName) => seen.fire({ alias, domainName }));
  registry = {
    get: (alias: string) => inventories.get(alias),
    require: (alias: string) =>
      inventories.get(alias) ??
      (() => {
        throw new Error(`${alias} is not a configured host`);
      })(),
    get hosts() {
      return [...inventories.values()];
    },
    onDidSeeMigration: seen.event,
    onDidSeeKubevirtMigration: () => ({ dispose() {} }),
    resolve: async (alias: string) => ({
      alias,
      hostName: alias === 'hostB' ? '10.0.0.2' : '10.0.0.1',
      port: 22,
      user: 'root',
      identityFiles: [],
      identitiesOnly: false,
      knownHostsFiles: [],
      strictHostKeyChecking: 'yes',
    }),
  } as unknown as HostRegistry;
  const saved: MigrationRecord[][] = [];
  const history: MigrationRecord[] = [];
  store = {
    saved,
    history,
    loadActive: () => [],
    saveActive: async (r) => void saved.push(r.map((x) => ({ ...x }))),
    addToHistory: async (r) => void history.push(r),
    operationRun: async () => undefined,
  };
  hostA.connect();
  hostB.connect();
  await settle();
});
afterEach(() => {
  for (const r of runners) r.dispose();
  for (const i of inventories.values()) i.dispose();
  hostA.dispose();
  hostB.dispose();
  vi.useRealTimers();
});

describe('MigrationRunner on fake hosts', () => {
  it('launches, samples the job through one reader, completes with the summary read without deleting it, and records it', async () => {
    const idle = seriesNamed('idle');
    const runner = newRunner();
    const phases: string[] = [];
    runner.onDidChange((r) => phases.push(r.phase));
    const sampled: Sample[] = [];
    runner.onDidSample(({ sample }) => sampled.push(sample));
    job.readings = idle.samples.map(rawstats);
    job.onEmpty = migrateEnds;
    const { record, done } = await runner.start({
      sourceAlias: 'hostA',
      targetAlias: 'hostB',
      domainUuid: tiny1,
      domainName: 'tiny1',
      options: PROFILES.safe.options,
    });
    expect(record).toMatchObject({ phase: 'starting', source: 'hostA', target: 'hostB', logPath: LOG });
    // launched detached on the source, towards the target as the source dials it
    const [launch] = hostA.execsOf((a) => a[0] === 'sh' && a[3] === 'ferry');
    expect(launch.slice(4, 9)).toEqual([
      LOG,
      expect.any(String),
      '0',
      'qemu+ssh://root@10.0.0.2/system?no_tty=1',
      tiny1,
    ]);
    expect(launch.slice(9)).toContain('--p2p');
    const end = await until(done);

    expect(phases[0]).toBe('starting');
    expect([...new Set(phases.slice(1))]).toEqual(['running', 'completed']);
    // every recorded reading arrived, as recorded, through one reader: no process or channel per sample
    expect(sampled).toEqual(idle.samples);
    expect(end.samples).toEqual(idle.samples);
    expect(jobReaders(hostA)).toHaveLength(1);
    expect(jobReaders(hostA)[0].argv).toEqual(virsh(URI));
    expect(jobReaders(hostA)[0].closed).toBe(true);
    expect(asked(hostA, jobInfoArgv(URI, tiny1))).toBe(1); // the launch's check that no job runs, nothing per sample
    // the final summary: the completed job, read with --keep-completed (reading it without deletes it)
    expect(asked(hostA, jobInfoArgv(URI, tiny1, true))).toBe(1);
    expect(hostA.execsOf((a) => a.includes('--completed')).every((a) => a.includes('--keep-completed'))).toBe(true);
    expect(end).toMatchObject({
      phase: 'completed',
      percent: 100,
      error: undefined,
      summary: { type: 'completed', downtimeMs: 81, dataProcessed: 648355950, iteration: 6 },
    });
    expect(end.markers.map((m) => m.kind)).toEqual(['paused', 'completed']);
    // recorded: in the history once, no longer among the running ones; its log removed from the source
    expect(store.history).toEqual([end]);
    expect(store.saved.at(-1)).toEqual([]);
    // stored at each change of phase, the ones its readings make too: a reload finds it as it was last seen
    expect(store.saved.map((rs) => rs.map((r) => r.phase))).toEqual([['starting'], ['running'], []]);
    expect(runner.running).toEqual([]);
    expect(hostA.execsOf((a) => a[3] === 'ferry-clean')).toEqual([
      ['sh', '-c', expect.any(String), 'ferry-clean', LOG],
    ]);
  });

  describe('the automatic diagnosis', () => {
    const probes = () => [hostA, hostB].map((h) => h.execsOf((a) => a[3] === 'ferry-probe').length);
    const run = async (samples: Sample[]) => {
      job.readings = samples.map(rawstats);
      job.onEmpty = migrateEnds;
      const { done } = await newRunner().start(tiny1Run());
      return until(done);
    };
    it('probes both hosts once, when the job has run 3 s by the host clock', async () => {
      const samples = seriesNamed('not-converging').samples.slice(0, 100); // 93 ms … ~10 s
      await run(samples);
      expect(probes()).toEqual([1, 1]);
    });
    it('waits, after a reload, for readings of its own before it diagnoses', async () => {
      const series = seriesNamed('not-converging').samples;
      const { record, reloaded } = await startThenReload(series.slice(0, 5).map(rawstats));
      // re-attached 4 s into the job: 5 readings, then the job ends
      job.readings = series.slice(40, 45).map(rawstats);
      job.onEmpty = migrateEnds;
      expect(series[40].t).toBeGreaterThan(3000);
      const [{ done }] = reloaded.reattach();
      expect((await until(done)).id).toBe(record.id);
      expect(probes()).toEqual([0, 0]);
    });
    it('leaves a job done sooner alone, however many readings it took', async () => {
      const samples = seriesNamed('dirtying').samples; // 30 readings, the last at 2962 ms
      expect(samples.at(-1)!.t).toBeLessThan(3000);
      await run(samples);
      expect(probes()).toEqual([0, 0]);
    });
  });

  it('a postcopy run moves to postcopy from its readings, marked on its chart', async () => {
    const postcopy = seriesNamed('postcopy');
    const runner = newRunner();
    job.readings = postcopy.samples.map(rawstats);
    job.onEmpty = migrateEnds;
    const { done } = await runner.start({
      sourceAlias: 'hostA',
      targetAlias: 'hostB',
      domainUuid: tiny1,
      domainName: 'tiny1',
      options: { ...PROFILES.safe.options, postcopy: 'afterPrecopy' },
    });
    const phases: string[] = [];
    runner.onDidChange((r) => phases.push(r.phase));
    const end = await until(done);
    expect([...new Set(phases)]).toEqual(['running', 'postcopy', 'completed']);
    expect(end.markers.filter((m) => m.kind === 'postcopy')).toHaveLength(1);
    expect(end.samples).toHaveLength(postcopy.samples.length);
  });

  it('discovers a migration it did not start from its migration-iteration event, follows it and records how it ended', async () => {
    const runner = newRunner();
    const dirtying = seriesNamed('dirtying');
    job.started = true; // by someone else: a virsh migrate in a shell
    // the captured reading (1989 ms in), then the recorded ones after it
    const later = dirtying.samples.filter((x) => x.t > 1989);
    job.readings = [fixture('domjobinfo-rawstats-running.txt'), ...later.map(rawstats)];
    job.onEmpty = () => modelB.domains.length || migrateEnds();
    // the incoming domain is already defined (paused) on the target
    modelB.define(tiny1, 'tiny1', {
      'state.state': '3',
      'state.reason': '6',
      'vcpu.current': '1',
      'vcpu.maximum': '1',
      'balloon.current': '524288',
      'balloon.maximum': '524288',
    });
    const events = fixture('virsh-event-migration.txt')
      .split('\n')
      .filter((l) => l.includes("'migration-iteration'"));
    const [stream] = hostA.openStreams(isEventStream);
    stream.emit(events[0]);
    stream.emit(events[1]); // seen again: still one run
    await settle();
    expect(runner.running).toHaveLength(1);
    const [found] = runner.running;
    expect(found).toMatchObject({
      phase: 'running',
      discovered: true,
      source: 'hostA',
      target: 'hostB',
      domainName: 'tiny1',
      domainUuid: tiny1,
    });
    expect(found.options).toBeUndefined();
    expect(found.logPath).toBeUndefined();
    let end: MigrationRecord | undefined;
    for (let t = 0; !end && t < 60_000; t += 45) {
      await settle(45);
      end = store.history.find((r) => r.id === found.id);
    }
    expect(end).toMatchObject({ phase: 'completed', discovered: true, summary: { type: 'completed', downtimeMs: 81 } });
    // the readings from its discovery on: the first as captured, then the recorded ones
    expect(end!.samples[0]).toMatchObject({ t: 1989, processed: 73802314, remaining: 419438592, iteration: 1 });
    expect(end!.samples.slice(1)).toEqual(later);
    expect(later.length).toBeGreaterThan(5);
    expect(jobReaders(hostA)).toHaveLength(1);
    expect(hostA.execsOf((a) => a.includes('--completed')).every((a) => a.includes('--keep-completed'))).toBe(true);
    expect(runner.running).toEqual([]);
  });

  it('the source lost: the run shows unknown (the migration goes on without Ferry); back, the watcher re-attaches with a new reader', async () => {
    const dirtying = seriesNamed('dirtying');
    const runner = newRunner();
    const phases: string[] = [];
    runner.onDidChange((r) => phases.push(r.phase));
    job.readings = dirtying.samples.slice(0, 10).map(rawstats);
    const { record, done } = await runner.start({
      sourceAlias: 'hostA',
      targetAlias: 'hostB',
      domainUuid: tiny1,
      domainName: 'tiny1',
      options: PROFILES.safe.options,
    });
    await settle(45 * 5);
    expect(runner.get(record.id)!.phase).toBe('running');
    hostA.reachable = false;
    hostA.drop();
    await settle(100);
    expect(runner.get(record.id)!.phase).toBe('unknown');
    expect(store.saved.at(-1)!.map((r) => r.phase)).toEqual(['unknown']); // what a reload would re-attach to
    await settle(10_000); // still down: nothing new, no reader left open
    expect(runner.get(record.id)!.phase).toBe('unknown');
    expect(jobReaders(hostA).filter((s) => !s.closed)).toHaveLength(0);
    const samplesBefore = runner.get(record.id)!.samples.length;
    hostA.reachable = true;
    job.readings = dirtying.samples.slice(20).map(rawstats);
    job.onEmpty = migrateEnds;
    const end = await until(done);
    expect(phases.filter((p, i) => p !== phases[i - 1])).toEqual([
      'starting',
      'running',
      'unknown',
      'running',
      'completed',
    ]);
    expect(jobReaders(hostA)).toHaveLength(2);
    expect(end.phase).toBe('completed');
    expect(end.samples.slice(samplesBefore)).toEqual(dirtying.samples.slice(20));
    expect(store.history.map((r) => r.id)).toEqual([record.id]);
  });

  it('a window reloaded: the stored run comes back unknown and re-attaches, reporting the real outcome', async () => {
    const { record, reloaded } = await startThenReload(seriesNamed('idle').samples.slice(0, 5).map(rawstats));
    expect(reloaded.running.map((r) => [r.id, r.phase])).toEqual([[record.id, 'unknown']]);
    job.readings = seriesNamed('idle').samples.slice(5).map(rawstats);
    job.onEmpty = migrateEnds;
    const [{ done }] = reloaded.reattach();
    const end = await until(done);
    expect(end.phase).toBe('completed');
    expect(store.history.map((r) => r.id)).toEqual([record.id]);
  });

  it('aborts through domjobabort on the source: the run ends aborted, on request', async () => {
    const runner = newRunner();
    job.readings = seriesNamed('not-converging').samples.map(rawstats);
    const { record, done } = await runner.start({
      sourceAlias: 'hostA',
      targetAlias: 'hostB',
      domainUuid: tiny1,
      domainName: 'tiny1',
      options: { ...PROFILES.safe.options, bandwidthMiBps: 40 },
    });
    await settle(45 * 10);
    await runner.abort(record.id);
    expect(
      hostA.execs.filter((e) => e.argv.join(' ') === abortArgv(URI, tiny1).join(' ')).map((e) => e.options),
    ).toEqual([{ logLevel: 'info', timeoutMs: 30_000 }]);
    const end = await until(done);
    expect(end.phase).toBe('aborted');
    expect(end.error).toMatch(
      /^aborted on request \(libvirt: operation aborted: migration out job: canceled by client\)$/,
    );
    expect(end.summary).toBeUndefined();
    expect(store.history.map((r) => r.phase)).toEqual(['aborted']);
    await expect(runner.abort(record.id)).rejects.toThrow(/not running any more/);
  });

  describe("the run's max downtime (QEMU keeps it for the domain's next migration)", () => {
    let maxDowntime: string;
    beforeEach(() => {
      maxDowntime = '120';
      hostA
        .onExec(
          (a) => a.join(' ') === getMaxDowntimeArgv(URI, tiny1).join(' '),
          () => ({ stdout: `${maxDowntime}\n` }),
        )
        .onExec(
          (a) => a.join(' ').startsWith(setMaxDowntimeArgv(URI, tiny1, 1).slice(0, -1).join(' ')),
          (a) => ((maxDowntime = a.at(-1)!), { stdout: '' }),
        );
    });
    const fast = () => tiny1Run(PROFILES.fast.options);

    it('is set before the launch and the one before is put back when the run is aborted', async () => {
      const runner = newRunner();
      job.readings = seriesNamed('not-converging').samples.map(rawstats);
      const { record, done } = await runner.start(fast());
      expect(maxDowntime).toBe('50');
      await settle(45 * 10);
      await runner.abort(record.id);
      expect((await until(done)).phase).toBe('aborted');
      expect(maxDowntime).toBe('120');
    });

    it('is put back at once when virsh migrate cannot be started', async () => {
      hostA.onExec((a) => a[0] === 'sh' && a[3] === 'ferry' && a[4] === LOG, { code: 1, stderr: 'setsid: failed' });
      await expect(newRunner().start(fast())).rejects.toThrow(/could not start virsh migrate on hostA: setsid: failed/);
      expect(maxDowntime).toBe('120');
    });

    it('stays when the run completes: the domain has left, its QEMU with it', async () => {
      const runner = newRunner();
      job.readings = seriesNamed('not-converging').samples.slice(0, 5).map(rawstats);
      job.onEmpty = migrateEnds;
      const { done } = await runner.start(fast());
      expect((await until(done)).phase).toBe('completed');
      expect(asked(hostA, setMaxDowntimeArgv(URI, tiny1, 120))).toBe(0);
    });
  });

  it('steering goes to the source and marks the chart; a second start of the same domain is refused', async () => {
    const runner = newRunner();
    job.readings = seriesNamed('not-converging').samples.slice(0, 50).map(rawstats);
    const { record } = await runner.start({
      sourceAlias: 'hostA',
      targetAlias: 'hostB',
      domainUuid: tiny1,
      domainName: 'tiny1',
      options: PROFILES.safe.options,
    });
    await settle(45 * 3);
    hostA.onExec((a) => a.includes('migrate-setspeed'), { code: 0 });
    await runner.setBandwidth(record.id, 60);
    expect(hostA.execsOf((a) => a.includes('migrate-setspeed'))).toEqual([virsh(URI, 'migrate-setspeed', tiny1, '60')]);
    expect(runner.get(record.id)!.markers.map((m) => m.label)).toEqual(['bandwidth 60 MiB/s']);
    await expect(
      runner.start({
        sourceAlias: 'hostA',
        targetAlias: 'hostB',
        domainUuid: tiny1,
        domainName: 'tiny1',
        options: PROFILES.safe.options,
      }),
    ).rejects.toThrow(/already being migrated by Ferry/);
    await expect(runner.switchToPostcopy(record.id)).rejects.toThrow(/without postcopy/);
  });

  it("keeping TCP connections: migrated with --suspend, the source's failsafe armed, the gate's report in the record", async () => {
    const runner = newRunner();
    for (const h of [hostA, hostB])
      h.onExec('conntrack --version', { stdout: 'conntrack v1.4.7 (conntrack-tools)\n' }).onExec('conntrack -C', {
        stdout: '3\n',
      });
    hostA.onSession((a) => a[3] === 'ferry-conntrack-gate', {
      opened: (io) => io.print('ferry-snapshot-end\n'),
      ended: (io) => io.exit(0),
    });
    hostB.onExec('conntrack -R -', async (_a, o) => (await o!.stdin, { code: 0 }));
    hostB.shell = (words) => (words[0] === 'resume' ? '' : words[0] === 'domstate' ? 'running\n' : modelB.shell(words));
    job.readings = seriesNamed('idle').samples.map(rawstats);
    job.onEmpty = migrateEnds;
    const { done } = await runner.start({
      sourceAlias: 'hostA',
      targetAlias: 'hostB',
      domainUuid: tiny1,
      domainName: 'tiny1',
      options: { ...PROFILES.safe.options, keepTcpConnections: true },
      keepConnections: { addresses: ['10.0.1.100'], budgetMs: 200 },
    });
    const [launch] = hostA.execsOf((a) => a[0] === 'sh' && a[3] === 'ferry');
    expect(launch[6]).toBe('10'); // GATE_FAILSAFE_S: the source resumes the target itself if Ferry is gone by then
    expect(launch.slice(9)).toContain('--suspend');
    const end = await until(done);
    expect(end.phase).toBe('completed');
    expect(end.gate).toMatchObject({
      addresses: ['10.0.1.100'],
      bulkEntries: 0,
      finalChanged: 0,
      missing: 0,
      error: undefined,
    });
    expect(end.markers.map((m) => m.kind)).toEqual(['paused', 'resumed', 'completed']);
    expect(store.history[0].gate).toEqual(end.gate);
  });
});
