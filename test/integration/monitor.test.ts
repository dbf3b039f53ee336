import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROFILES } from '../../src/core/migration/job';
import type { Sample } from '../../src/core/migration/monitor';
import { assess } from '../../src/core/migration/monitor';
import { HostRegistry } from '../../src/services/hostRegistry';
import { MigrationRunner } from '../../src/services/migration';
import {
  guestDirty,
  guestFilled,
  lab,
  labCtl,
  memoryLogger,
  memoryStore,
  onHost,
  onHostAsync,
  tiny1,
  waitFor,
} from './lab';

const [A, B] = lab.hosts.map((h) => h.alias);
const tiny = lab.guests.tiny1.ip;
const store = memoryStore();
const history = store.history;
const log = memoryLogger();
let registry: HostRegistry;
let runner: MigrationRunner;
const { uuid: uuidOf, whereIs: whereIsTiny, ensureOnA } = tiny1;
beforeAll(async () => {
  labCtl('ct', 'loose');
  registry = new HostRegistry(
    {
      connection: { connectTimeoutMs: 5000, keepaliveIntervalMs: 1000 },
      settings: { sshConfigPath: lab.sshConfig, libvirtUri: 'qemu:///system' },
    },
    log,
  );
  registry.setHosts([A, B]);
  await waitFor('both hosts listed', () => registry.hosts.every((h) => h.domains), 20_000);
  runner = new MigrationRunner(registry, store, { libvirtUri: 'qemu:///system' }, log);
  ensureOnA();
}, 120_000);
beforeEach(() => {
  ensureOnA();
  guestDirty(tiny, 1, 'idle');
}, 60_000);
afterAll(() => {
  runner.dispose();
  registry.dispose();
  labCtl('ct', 'strict');
});

describe('migration monitor against the lab', () => {
  it('samples a throttled migration through one persistent reader, on the host clock', async () => {
    // 200 MiB of real data: at 20 MiB/s the migration outlasts the automatic diagnosis and 4 s of sampling after it
    await guestFilled(tiny, 200, 'idle');
    const { record, done } = await runner.start({
      sourceAlias: A,
      targetAlias: B,
      domainUuid: uuidOf(),
      domainName: 'tiny1',
      options: { ...PROFILES.safe.options, bandwidthMiBps: 20 },
    });
    const got: { at: number; sample: Sample }[] = [];
    const sub = runner.onDidSample(
      ({ record: r, sample }) => r.id === record.id && got.push({ at: performance.now(), sample }),
    );
    // past the automatic diagnosis (3 s into the job), whose probe runs one virsh migrate-getspeed
    await waitFor('the automatic diagnosis', () => runner.get(record.id)?.findings, 30_000);
    // one reader process for the whole job, no process per sample: no virsh on the source that was not there before
    // the samples (one that ends meanwhile, as the diagnosis probe's may, is no sample's)
    const virshes = () => onHost(A, 'pgrep -x virsh').trim().split('\n');
    const virshesBefore = virshes();
    const from = got.length;
    await waitFor('4 s of samples', () => got.length > from && got.at(-1)!.at - got[from].at >= 4000, 30_000);
    const appeared = virshes().filter((pid) => !virshesBefore.includes(pid));
    sub.dispose();
    await runner.abort(record.id);
    const end = await done;
    expect(end.phase).toBe('aborted');
    const span = got.at(-1)!.at - got[0].at;
    const hz = ((got.length - 1) / span) * 1000;
    const hostSpan = got.at(-1)!.sample.t - got[0].sample.t;
    console.log(
      `sampler: ${got.length} samples in ${span.toFixed(0)} ms (${hz.toFixed(1)} Hz), host clock span ${hostSpan} ms, virsh pids ${virshesBefore.join(' ')}`,
    );
    // the rate is a figure for `npm run bench -- sampling`; here: samples kept coming, in the host clock's order
    expect(got.length - from).toBeGreaterThan(4);
    expect(got.every((g, i) => i === 0 || g.sample.t >= got[i - 1].sample.t)).toBe(true);
    expect(hostSpan).toBeGreaterThan(0);
    expect(appeared).toEqual([]);
  });

  it('discovers and charts a migration started with plain virsh migrate in a shell', async () => {
    await guestFilled(tiny, 200, 10); // 200 MiB of real data: at 30 MiB/s the migration lasts long enough to watch
    const uuid = uuidOf();
    const shell = onHostAsync(
      A,
      `virsh -q migrate --live --p2p --bandwidth 30 ${uuid} 'qemu+ssh://root@${lab.hosts[1].address}/system?no_tty=1'`,
    );
    const found = await waitFor(
      'the migration discovered',
      () => runner.running.find((r) => r.domainUuid === uuid && r.discovered),
      20_000,
    );
    expect(found).toMatchObject({ source: A, target: B, domainName: 'tiny1', discovered: true });
    expect(found.options).toBeUndefined();
    const live = await waitFor(
      'samples charted',
      () => ((runner.get(found.id)?.samples.length ?? 0) >= 10 ? runner.get(found.id) : undefined),
      20_000,
    );
    expect(live!.samples.at(-1)!.total).toBeGreaterThan(0);
    await shell;
    const end = await waitFor(
      'the discovered migration recorded as finished',
      () => history.find((r) => r.id === found.id),
      60_000,
    );
    expect(end.phase).toBe('completed');
    expect(end.summary).toMatchObject({ type: 'completed' });
    expect(end.markers.at(-1)).toMatchObject({ kind: 'completed' });
    // charted from discovery to the end: later samples show less left to send than the first one did
    expect(end.samples.length).toBeGreaterThan(10);
    expect(end.samples.at(-1)!.remaining).toBeLessThan(end.samples[0].remaining!);
    expect(whereIsTiny()).toBe(B);
  });

  it('diagnoses a run that cannot converge (20 MiB/s cap, guest dirtying faster), with the cap as the finding', async () => {
    await guestFilled(tiny, 100, 60);
    const { record, done } = await runner.start({
      sourceAlias: A,
      targetAlias: B,
      domainUuid: uuidOf(),
      domainName: 'tiny1',
      options: { ...PROFILES.safe.options, bandwidthMiBps: 20 },
    });
    try {
      const verdict = await waitFor(
        'the not-converging verdict',
        () => {
          const r = runner.get(record.id);
          const a = r && assess(r.samples, { autoConverge: false, postcopy: false });
          return a?.convergence.state === 'not-converging' ? a : undefined;
        },
        60_000,
      );
      console.log(`not converging: ${verdict.convergence.state === 'not-converging' && verdict.convergence.reason}`);
      expect(verdict.etaMs).toBeUndefined();
      const d = await runner.diagnose(record.id);
      expect(d.findings.find((f) => f.id === 'bandwidth-cap')).toMatchObject({
        severity: 'warning',
        title: 'bandwidth capped at 20 MiB/s',
      });
      expect(d.findings.find((f) => f.id === 'link')!.title).toMatch(/eth0, 10 Gbit\/s, MTU 1500/);
      expect(d.findings.find((f) => f.id === 'capabilities')!.evidence).toMatch(/CapEff 0x/);
      expect(runner.get(record.id)!.findings).toEqual(d.findings);
    } finally {
      await runner.abort(record.id).catch(() => undefined);
    }
    const end = await done;
    expect(end.phase).toBe('aborted');
    expect(end.findings?.length).toBeGreaterThan(3); // kept with the run for its history
    expect(whereIsTiny()).toBe(A);
  }, 120_000);
});
