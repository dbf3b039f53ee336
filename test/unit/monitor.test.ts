import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnose, parseProbe } from '../../src/core/diagnosis';
import { PROFILES } from '../../src/core/migration/job';
import type { MigrationMarker, Sample } from '../../src/core/migration/monitor';
import { assess, Assessor, convergence, isZeroedReading, percentOf, thinned } from '../../src/core/migration/monitor';
import { CAPABILITY_NAMES, decodeCapabilities } from '../../src/core/procStatus';

// sample series recorded from lab migrations by test/fixtures/record-series.ts
type Series = { phase: string; samples: Sample[]; markers: MigrationMarker[]; options: typeof PROFILES.safe.options };
const series = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'series', `${name}.json`), 'utf8')) as Series;
const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', name), 'utf8');
const until = (s: Series, ms: number) => s.samples.filter((x) => x.t <= ms);

describe('convergence, ETA and progress on recorded runs', () => {
  it('idle and dirtying runs converge, with an ETA that shrinks to zero and progress that never runs backwards', () => {
    for (const name of ['idle', 'dirtying']) {
      const run = series(name);
      expect(run.phase).toBe('completed');
      let percent = 0;
      for (let i = 1; i <= run.samples.length; i++) {
        const a = assess(run.samples.slice(0, i), { autoConverge: false, postcopy: false, previousPercent: percent });
        expect(a.percent).toBeGreaterThanOrEqual(percent);
        expect(a.percent).toBeLessThan(100);
        expect(a.convergence.state).not.toBe('not-converging');
        percent = a.percent;
      }
      const end = assess(run.samples, { autoConverge: false, postcopy: false });
      expect(end.etaMs).toBeDefined();
      expect(end.etaMs!).toBeLessThan(2000);
      expect(end.peakBps).toBeGreaterThan(50 * 1048576);
    }
    // the dirtying run did dirty memory, the idle one did not
    expect(Math.max(...series('dirtying').samples.map((s) => s.dirtyBps))).toBeGreaterThan(20 * 1048576);
    expect(Math.max(...series('idle').samples.map((s) => s.dirtyBps))).toBeLessThan(1048576);
  });

  it('one second after the first byte is sent, the ETA is within a factor of two of the time the run still took', () => {
    // the second of set-up before (zero throughput) must not count: it once made the early ETA 4-6 times too long
    for (const name of ['idle', 'dirtying']) {
      const run = series(name);
      const firstByte = run.samples.find((s) => s.bps > 0)!.t;
      const soFar = until(run, firstByte + 1000);
      const stillTook = run.samples.at(-1)!.t - soFar.at(-1)!.t;
      const { etaMs } = assess(soFar, { autoConverge: false, postcopy: false });
      expect(etaMs, name).toBeGreaterThanOrEqual(stillTook / 2 - 500);
      expect(etaMs, name).toBeLessThanOrEqual(stillTook * 2 + 500);
    }
  });

  it('kept up to date one sample at a time, the assessment is at every sample the one of the whole series so far', () => {
    for (const name of ['idle', 'dirtying', 'not-converging', 'postcopy', 'aborted-tail']) {
      const samples = series(name).samples;
      for (const autoConverge of [false, true]) {
        const live = new Assessor();
        let percent = 0;
        samples.forEach((s, i) => {
          live.push(s);
          const o = { autoConverge, postcopy: false, previousPercent: percent };
          const now = live.assessment(o);
          expect(now, `${name} sample ${i}`).toEqual(assess(samples.slice(0, i + 1), o));
          percent = now.percent;
        });
      }
    }
    // the verdicts along the way differ, so the comparison covers more than one state
    const seen = new Set(
      series('not-converging').samples.map(
        (_, i, all) => convergence(all.slice(0, i + 1), { autoConverge: false, postcopy: false }).state,
      ),
    );
    expect([...seen].sort()).toEqual(['converging', 'not-converging', 'unknown']);
  });

  it('a zeroed reading while the job is cancelled is no sample; the zero readings of the set-up before the first byte are', () => {
    const tail = series('aborted-tail').samples;
    expect(tail.at(-1)).toMatchObject({ bps: 0, total: 0, iteration: 0 });
    expect(isZeroedReading(tail.at(-1)!, tail.at(-2))).toBe(true);
    expect(isZeroedReading(tail.at(-2)!, tail.at(-3))).toBe(false);
    const idle = series('idle').samples;
    expect(idle[1].total).toBe(0);
    expect(isZeroedReading(idle[1], idle[0])).toBe(false);
  });

  it('a run under a 40 MiB/s cap with the guest dirtying as fast is diagnosed as not converging, with its numbers', () => {
    const run = series('not-converging');
    expect(run.phase).toBe('aborted');
    expect(convergence(until(run, 5000), { autoConverge: false, postcopy: false }).state).toBe('unknown');
    expect(convergence(until(run, 10_500), { autoConverge: false, postcopy: false }).state).toBe('converging'); // the first pass still shrinks
    const late = assess(until(run, 25_000), { autoConverge: false, postcopy: false });
    expect(late.convergence.state).toBe('not-converging');
    expect(late.etaMs).toBeUndefined();
    expect(late.convergence.state === 'not-converging' && late.convergence.reason).toMatch(/\d+ MiB\/s/);
    // with auto-converge still below its maximum throttle the verdict waits
    expect(convergence(until(run, 25_000), { autoConverge: true, postcopy: false }).state).toBe('converging');
    expect(late.expectedDowntimeMs!).toBeGreaterThan(late.maxDowntimeMs);
    // the second rule alone (dirty rate hidden): what is left after each pass stopped shrinking
    const blind = until(run, 25_000).map((s) => ({ ...s, dirtyBps: 0 }));
    const stuck = convergence(blind, { autoConverge: false, postcopy: false });
    expect(stuck.state === 'not-converging' && stuck.reason).toMatch(
      /after each pass has not gone below \d+ MiB for 1\d s/,
    );
    expect(
      convergence(
        blind.filter((s) => s.t <= 12_000),
        { autoConverge: false, postcopy: false },
      ).state,
    ).toBe('converging');
  });

  it('postcopy converges by construction once switched; the switch is marked', () => {
    const run = series('postcopy');
    expect(run.phase).toBe('completed');
    const switched = run.markers.find((m) => m.kind === 'postcopy');
    expect(switched).toBeDefined();
    expect(run.samples.some((s) => s.t >= switched!.t)).toBe(true);
    expect(convergence(run.samples, { autoConverge: false, postcopy: true }).state).toBe('converging');
  });

  it('progress holds at 99 until completion; thinning keeps the ends', () => {
    expect(percentOf({ t: 1, bps: 1, dirtyBps: 0, remaining: 0, processed: 10, total: 10, iteration: 1 })).toBe(99);
    expect(percentOf({ t: 1, bps: 1, dirtyBps: 0, remaining: 8, processed: 2, total: 10, iteration: 2 }, 40)).toBe(40);
    const samples = Array.from({ length: 11 }, (_, i) => ({
      t: i,
      bps: 0,
      dirtyBps: 0,
      remaining: 0,
      processed: 0,
      total: 0,
      iteration: 1,
    }));
    const t = thinned(samples, 10);
    expect(t.length).toBe(6);
    expect(t[0].t).toBe(0);
    expect(t.at(-1)!.t).toBe(10);
  });
});

describe('process facts from /proc', () => {
  it('decodes CapEff masks into capability names', () => {
    expect(decodeCapabilities('0000000000000400')).toEqual(['cap_net_bind_service']);
    expect(decodeCapabilities('0x4400')).toEqual(['cap_net_bind_service', 'cap_ipc_lock']);
    expect(decodeCapabilities('0000000000000000')).toEqual([]);
    const full = decodeCapabilities('000001ffffffffff');
    expect(full).toHaveLength(41);
    expect(full).toEqual([...CAPABILITY_NAMES]);
    expect(decodeCapabilities('0000020000000000')).toEqual(['cap_41']);
    expect(() => decodeCapabilities('zz; rm -rf /')).toThrow(/not a capability mask/);
  });
});

describe('"Why is it slow?" findings', () => {
  // the probe's output on lab hostA and hostB during a single-stream migration (test/fixtures/probe-source.txt,
  // probe-target.txt, captured by test/fixtures/capture-probe.ts)
  const source = parseProbe(fixture('probe-source.txt'));
  const target = parseProbe(fixture('probe-target.txt'));
  const dirtying = series('dirtying').samples;

  it('parses a real probe: QEMU pid, capabilities, memlock, thread names and CPU shares, link', () => {
    expect(source.pid).toBeGreaterThan(0);
    expect(source.capEff).toMatch(/^[0-9a-f]{16}$/);
    expect(source.memlockBytes).toBe(8388608);
    expect(source.threads.length).toBeGreaterThan(2);
    expect(source.link).toEqual({ dev: 'eth0', speedMbps: 10000, mtu: 1500 });
    expect(source.speedCapMiBps).toBe(30); // migrate-getspeed during the capture's --bandwidth 30 run
    expect(source.threads.map((t) => t.name)).toContain('mig/src/main');
    // each thread's share of one CPU between the probe's two readings: the migration thread sent, so it ran
    for (const t of source.threads) {
      expect(t.cpu).toBeGreaterThanOrEqual(0);
      expect(t.cpu).toBeLessThanOrEqual(1);
    }
    expect(source.threads.find((t) => t.name === 'mig/src/main')!.cpu).toBeGreaterThan(0);
    expect(target.link).toBeUndefined();
  });

  it('names the seed-000 suspects with evidence, and the channel as the bottleneck when the guest is quiet', () => {
    const idle = series('idle').samples;
    // the probe was taken under a 30 MiB/s cap; this run had none
    const f = diagnose({
      options: PROFILES.safe.options,
      samples: idle,
      source: { ...source, speedCapMiBps: undefined },
      target,
      sourceAlias: 'hostA',
      targetAlias: 'hostB',
    });
    const byId = new Map(f.map((x) => [x.id, x]));
    expect(byId.get('capabilities')!.title).toMatch(/cap_ipc_lock/);
    expect(byId.get('capabilities')!.evidence).toMatch(/CapEff 0x/);
    expect(byId.get('memlock')!.title).toBe('locked memory limit 8 MiB');
    expect(byId.get('link')!.title).toBe('migration path: eth0, 10 Gbit/s, MTU 1500');
    expect(byId.get('channel-bound')!.severity).toBe('problem');
    expect(byId.get('channel-bound')!.evidence).toMatch(/% of the 10 Gbit\/s link/);
    expect(byId.has('bandwidth-cap')).toBe(false);
  });

  it('zero-copy without lockable memory is a problem; a cap the run sits at is a warning', () => {
    const f = diagnose({
      options: { ...PROFILES.largeVm.options },
      samples: dirtying,
      source,
      target,
      sourceAlias: 'hostA',
      targetAlias: 'hostB',
    });
    expect(f.find((x) => x.id === 'memlock')!.severity).toBe('problem');
    expect(f.find((x) => x.id === 'zero-copy')!.evidence).toMatch(/QMP/);
    expect(f.find((x) => x.id === 'multifd')!.severity).toBe('problem'); // 4 connections asked, the probe saw one stream
    const capped = series('not-converging');
    const c = diagnose({
      options: capped.options,
      samples: capped.samples,
      source,
      sourceAlias: 'hostA',
      targetAlias: 'hostB',
    });
    expect(c.find((x) => x.id === 'bandwidth-cap')).toMatchObject({
      severity: 'warning',
      title: 'bandwidth capped at 40 MiB/s',
    });
    expect(c.some((x) => x.id === 'channel-bound')).toBe(false); // the guest is dirtying: not the channel's fault
  });

  it('flags a busy thread seen by a real run of the probe (a local process burning one core as qemu-system-x86)', () => {
    // test/fixtures/probe-local-busy.txt, recorded by capture-probe-local.ts
    const local = parseProbe(fixture('probe-local-busy.txt'));
    expect(local.threads).toHaveLength(1);
    const [main] = local.threads;
    expect(main.name).toBe('qemu-system-x86');
    // 102 ticks of 100 per second: the window is the second's sleep plus one read of the threads
    expect(main.cpu).toBe(1.02);
    const f = diagnose({ samples: dirtying, source, target: local, sourceAlias: 'hostA', targetAlias: 'local' });
    expect(f.find((x) => x.id === 'target-cpu')).toMatchObject({
      title: 'the receiving QEMU on local is CPU-bound',
      evidence: 'qemu-system-x86 at 102 % of a core',
    });
    expect(f.some((x) => x.id === 'source-cpu')).toBe(false); // the lab source's shares are blanked
  });

  it('flags a CPU-bound migration thread on either side', () => {
    const hot = parseProbe(
      'pid=1\nclk=100\nthread=1 100 qemu-system-x86\nthread=2 500 live_migration\nmark=1\nthread=1 199 qemu-system-x86\nthread=2 597 live_migration\n',
    );
    expect(hot.threads).toEqual([
      { name: 'qemu-system-x86', cpu: 0.99 },
      { name: 'live_migration', cpu: 0.97 },
    ]);
    const f = diagnose({ samples: dirtying, source: hot, target: hot, sourceAlias: 'hostA', targetAlias: 'hostB' });
    expect(f.find((x) => x.id === 'source-cpu')!.evidence).toBe('live_migration at 97 % of a core');
    expect(f.find((x) => x.id === 'target-cpu')!.evidence).toBe('qemu-system-x86 at 99 % of a core');
  });
});
