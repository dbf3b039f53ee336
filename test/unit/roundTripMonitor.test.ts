import { describe, expect, it, vi } from 'vitest';
import { summarize } from '../../src/commands/migration/summary';
import type { HeaderRun } from '../../src/core/migration/header';
import { headerRunOf, headerTexts, legsOf, MonitorHeader } from '../../src/core/migration/header';
import { assess, Assessor } from '../../src/core/migration/monitor';
import type { MigrationRecord } from '../../src/core/migration/record';
import { joinParts, shifted } from '../../src/core/migration/record';
import { leg, series, seriesNamed } from './recordedRuns';

// summarize's texts go through vscode.l10n.t (vi.mock is hoisted above the imports)
vi.mock('vscode', async () => ({ l10n: { t: (await import('../support/l10n')).l10nT } }));

/**
 * A hot-upgrade's round trip as the monitor shows it: the way there (the idle run recorded in the lab) and, 1.5 s
 * after it ended, the way back (the dirtying run), joined into one run whose chart shows both legs.
 */
const idle = seriesNamed('idle');
const dirtying = seriesNamed('dirtying');
const there = leg(idle, { source: 'hostA', target: 'hostB', startedAt: 1_000, step: 'upgrading QEMU, leg 1 of 2' });
const backAt = there.finishedAt! + 1_500;
const offset = backAt - there.startedAt;
const back = (until?: number) =>
  leg(dirtying, { source: 'hostB', target: 'hostA', startedAt: backAt, step: 'upgrading QEMU, leg 2 of 2', until });
/** the joined run as the panel is sent it whole (init), and the header it makes of it */
const shown = (r: MigrationRecord) => {
  const run = headerRunOf(r);
  return { run, header: new MonitorHeader(run) };
};
const backSamples = (until: number) => dirtying.samples.filter((s) => s.t <= until);

describe('the monitor header of a round trip, leg by leg and as a whole', () => {
  it('as the way back starts: its own phase and progress, no throughput before its first sample, the way there done', () => {
    const { run, header } = shown(joinParts(there, back(-1)));
    const f = header.figures(run, backAt + 500);
    expect(f.leg).toMatchObject({
      index: 1,
      count: 2,
      name: 'way back',
      source: 'hostB',
      target: 'hostA',
      phase: 'starting',
      startT: offset,
    });
    expect(f.nowBps).toBeUndefined(); // the way there's last sample is not the way back's "now"
    expect(headerTexts(f)).toEqual({
      phase: 'way back (leg 2 of 2): starting',
      elapsed: '4.9 s (way back 0.5 s)',
      eta: 'estimating…',
      percent: '0 % (way back) · 50 % in all',
      downtime: '—',
      throughput: '—',
      operation: 'way there completed, paused 124 ms · way back starting · 363 MiB in 4.9 s so far',
    });
  });

  it('mid-way back: phase, progress, now/avg/peak of the way back alone, counted from its own start', () => {
    const soFar = back(1988);
    const { run, header } = shown(joinParts(there, soFar));
    const f = header.figures(run);
    const own = backSamples(1988);
    const last = own.at(-1)!;
    expect(f.phase).toBe('running');
    expect(f.percent).toBe(soFar.percent); // the record's (and the chart's) progress of the way back
    expect(f.nowBps).toBe(last.bps);
    expect(f.averageBps).toBeCloseTo((last.processed / last.t) * 1000, 3); // not over the time since the way there began
    expect(f.peakBps).toBe(Math.max(...own.map((s) => s.bps)));
    expect(f.legs.map((l) => [l.name, l.phase, l.downtimeMs])).toEqual([
      ['way there', 'completed', 124],
      ['way back', 'running', undefined],
    ]);
    expect(f.total).toEqual({
      dataProcessed: there.summary!.dataProcessed! + last.processed,
      ms: offset + last.t,
      downtimeMs: 124,
      finished: false,
    });
    expect(headerTexts(f)).toEqual({
      phase: 'way back (leg 2 of 2): running',
      elapsed: '6.3 s (way back 2.0 s)',
      eta: '~0.9 s',
      percent: '52 % (way back) · 76 % in all',
      downtime: '300 ms expected / 300 ms max',
      throughput: '186 MiB/s now · 113 MiB/s avg · 296 MiB/s peak',
      operation: 'way there completed, paused 124 ms · way back running · 588 MiB in 6.3 s so far',
    });
  });

  it("at the end: the way back completed, and the whole operation's data, time and both pauses", () => {
    const done = joinParts(there, back());
    const { run, header } = shown(done);
    const f = header.figures(run);
    expect(f).toMatchObject({
      phase: 'completed',
      live: false,
      percent: 100,
      overallPercent: 100,
      downtimeMs: 52,
      downtimeActual: true,
    });
    expect(f.total).toEqual({
      dataProcessed: done.summary!.dataProcessed,
      ms: done.summary!.timeElapsedMs,
      downtimeMs: done.summary!.downtimeMs,
      finished: true,
    });
    expect(f.total!.dataProcessed).toBe(idle.summary!.dataProcessed! + dirtying.summary!.dataProcessed!);
    expect(headerTexts(f)).toEqual({
      phase: 'way back (leg 2 of 2): completed',
      elapsed: '7.4 s (way back 3.0 s)',
      eta: '—',
      percent: '100 % (way back) · 100 % in all',
      downtime: '52 ms actual / 300 ms max',
      throughput: '190 MiB/s now · 154 MiB/s avg · 296 MiB/s peak',
      operation:
        'way there completed, paused 124 ms · way back completed, paused 52 ms · 851 MiB in 7.4 s, paused 176 ms in all',
    });
    // the rate unit the user chose
    expect(headerTexts(f, 'Gbit').throughput).toBe('1.59 Gbit/s now · 1.29 Gbit/s avg · 2.48 Gbit/s peak');
  });

  it('followed live as the panel does (sent whole as the way back starts, then sample by sample), it says the same', () => {
    const start = headerRunOf(joinParts(there, back(-1)));
    const samples = [...start.samples]; // the panel's, appended to
    let run: HeaderRun = { ...start, samples };
    let header = new MonitorHeader(run);
    for (const s of dirtying.samples) {
      const sample = shifted([s], offset);
      samples.push(...sample);
      header.push(sample);
      // the header message after each reading: the run's fields but its samples, which the panel holds
      const record = back(s.t);
      run = { ...headerRunOf(joinParts(there, record)), samples };
      header = header.follow(run);
      const live = header.figures(run, 0);
      expect(live.percent, `at ${s.t} ms`).toBe(record.percent); // what the notification and the tree say
      // and what a panel opened (or reloaded) at that moment says
      const whole = shown(joinParts(there, record));
      expect(headerTexts(live), `at ${s.t} ms`).toEqual(headerTexts(whole.header.figures(whole.run, 0)));
    }
  });

  it('the way there, before it is joined: "leg 1 of 2" from its step, with its own figures', () => {
    const { run, header } = shown(
      leg(idle, {
        source: 'hostA',
        target: 'hostB',
        startedAt: 1_000,
        step: 'upgrading QEMU, leg 1 of 2',
        until: 2000,
      }),
    );
    const t = headerTexts(header.figures(run));
    expect(t).toMatchObject({
      phase: 'leg 1 of 2: running',
      percent: '45 % (leg 1 of 2) · 22 % in all',
      throughput: '211 MiB/s now · 99 MiB/s avg · 229 MiB/s peak',
      operation: '',
    });
    // a migration of no operation says what it always said
    const single = headerRunOf({ ...there, operationStep: undefined });
    expect(headerTexts(new MonitorHeader(single).figures(single))).toMatchObject({
      phase: 'completed',
      percent: '100 %',
      downtime: '124 ms actual / 300 ms max',
    });
  });

  it('legs that do not come back are numbered, not called a way there and back', () => {
    const onward = joinParts(
      there,
      leg(dirtying, { source: 'hostB', target: 'hostC', startedAt: backAt, step: 'moving on, leg 2 of 3' }),
    );
    expect(legsOf(headerRunOf(onward)).map((l) => l.label)).toEqual(['leg 1 of 3', 'leg 2 of 3']);
  });

  it("an in-place upgrade's hops, both on one host, are hop 1 and hop 2, not a way there and back", () => {
    const hop1 = leg(idle, {
      source: 'hostA',
      target: 'hostA',
      startedAt: 1_000,
      step: 'upgrading QEMU in place, hop 1 of 2',
    });
    expect(legsOf(headerRunOf(hop1)).map((l) => l.label)).toEqual(['hop 1 of 2']);
    const hop2 = leg(dirtying, {
      source: 'hostA',
      target: 'hostA',
      startedAt: backAt,
      step: 'upgrading QEMU in place, hop 2 of 2',
    });
    expect(legsOf(headerRunOf(joinParts(hop1, hop2))).map((l) => l.label)).toEqual(['hop 1 of 2', 'hop 2 of 2']);
  });

  it('the summary written when it ends names both legs, their pauses and the totals', () => {
    const lines = summarize(joinParts(there, back()));
    expect(lines.slice(0, 4)).toEqual([
      'tiny1: hostA → hostB → hostA completed',
      'way there: hostA → hostB completed, paused 124 ms, 363 MiB sent',
      'way back: hostB → hostA completed, paused 52 ms, 488 MiB sent',
      `in all 7372 ms (${((backAt + 3010 - 1_000) / 1000).toFixed(1)} s wall), paused 124 ms + 52 ms = 176 ms, 851 MiB sent, 7 iterations`,
    ]);
  });
});

describe('the assessment of a later migration of a joined run', () => {
  it('counts from its own start: the figures of its series on its own', () => {
    // the way back of a round trip begins 60 s into the run: its average, ETA, verdict and "now" are its own
    const by = 60_000;
    for (const { name, samples } of series.filter((x) => x.name !== 'aborted-tail')) {
      const later = new Assessor([], by);
      let percent = 0;
      samples.forEach((s, i) => {
        later.push(shifted([s], by)[0]);
        const o = { autoConverge: false, postcopy: false, previousPercent: percent };
        const a = later.assessment(o);
        expect(a, `${name} sample ${i}`).toEqual(assess(samples.slice(0, i + 1), o));
        expect(a.nowBps).toBe(s.bps);
        percent = a.percent;
      });
    }
    const none = new Assessor([], by).assessment({ autoConverge: false, postcopy: false });
    expect(none.nowBps).toBeUndefined();
    expect([none.averageBps, none.peakBps]).toEqual([0, 0]);
  });
});
