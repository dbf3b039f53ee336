import { describe, expect, it } from 'vitest';
import type { MigrationPhase, MigrationRecord } from '../../src/core/migration/record';
import { joinParts, next, route } from '../../src/core/migration/record';
import { fresh, leg as recordedLeg, reading, series } from './recordedRuns';

describe("a migration's phases, moved by next() alone, on every recorded series", () => {
  it.each(series.map((s) => [s.name, s] as const))('%s', (_, s) => {
    let r: MigrationRecord = next(fresh(), { kind: 'launched' });
    expect(r.phase).toBe('starting');
    const phases = new Set<MigrationPhase>();
    let percent = 0;
    for (const sample of s.samples) {
      r = next(r, { kind: 'sampled', stats: reading(sample) });
      phases.add(r.phase);
      expect(r.percent).toBeGreaterThanOrEqual(percent); // progress never runs backwards
      percent = r.percent;
    }
    const postcopy = s.samples.some((x) => (x.postcopyRequests ?? 0) > 0);
    expect([...phases].sort()).toEqual(postcopy ? ['postcopy', 'running'] : ['running']);
    expect(r.markers.filter((m) => m.kind === 'postcopy')).toHaveLength(postcopy ? 1 : 0);
    // the zeroed reading of a job being cancelled is no sample
    expect(r.samples.length).toBe(
      s.samples.filter((x, i) => !(x.total === 0 && (s.samples[i - 1]?.total ?? 0) > 0)).length,
    );
    const ended = next(r, {
      kind: 'ended',
      exitCode: s.phase === 'completed' ? 0 : 1,
      errorText: s.phase === 'aborted' ? 'operation aborted: migration out job: canceled by client' : '',
      abortRequested: s.phase === 'aborted',
      at: 2,
    });
    expect(ended.phase).toBe(s.phase);
    expect(ended.markers.at(-1)).toMatchObject({ kind: s.phase });
    expect(ended.percent).toBe(s.phase === 'completed' ? 100 : r.percent);
    // an ended run stays as it ended
    expect(next(ended, { kind: 'sampled', stats: reading(s.samples[0]) })).toBe(ended);
  });
});

describe('next() for everything else that moves a migration', () => {
  const running = () =>
    next(next(fresh(), { kind: 'launched' }), {
      kind: 'sampled',
      stats: reading({ t: 500, bps: 1e8, dirtyBps: 0, remaining: 4e8, processed: 1e8, total: 5e8, iteration: 1 }),
    });
  it('a lost source makes it unknown once, a reading brings it back', () => {
    const lost = next(running(), { kind: 'linkLost' });
    expect(lost.phase).toBe('unknown');
    expect(next(lost, { kind: 'linkLost' })).toBe(lost);
    expect(
      next(lost, {
        kind: 'sampled',
        stats: reading({ t: 900, bps: 1e8, dirtyBps: 0, remaining: 3e8, processed: 2e8, total: 5e8, iteration: 1 }),
      }).phase,
    ).toBe('running');
  });
  it('postcopy by hand: one marker and the phase, at once; asking again changes nothing', () => {
    const switched = next(running(), { kind: 'steered', label: 'postcopy (switched by hand)', postcopy: true });
    expect(switched.phase).toBe('postcopy');
    expect(next(switched, { kind: 'steered', label: 'again', postcopy: true })).toBe(switched);
    expect(switched.markers.map((m) => m.label)).toEqual(['postcopy (switched by hand)']);
  });
  it('success that the target does not confirm is a failure, with the reason', () => {
    const ended = next(running(), {
      kind: 'ended',
      exitCode: 0,
      errorText: '',
      abortRequested: false,
      targetProblem: 'tiny1 is shutoff on hostB',
      at: 3,
    });
    expect(ended).toMatchObject({ phase: 'failed', error: 'tiny1 is shutoff on hostB' });
  });
  it("an abort Ferry asked for says so, with libvirt's words", () => {
    const ended = next(running(), {
      kind: 'ended',
      exitCode: 1,
      errorText: 'End of file while reading data',
      abortRequested: true,
      at: 3,
    });
    expect(ended).toMatchObject({
      phase: 'aborted',
      error: 'aborted on request (libvirt: End of file while reading data)',
    });
  });
  it('a run held at 99 % changes with each new pass (the progress notification shows the iteration), not with each reading', () => {
    const held = (t: number, iteration: number) =>
      reading({ t, bps: 4e7, dirtyBps: 4e7, remaining: 2e6, processed: 9e8, total: 5e8, iteration });
    let r = next(running(), { kind: 'sampled', stats: held(1000, 2) });
    expect(r.percent).toBe(99);
    const same = next(r, { kind: 'sampled', stats: held(1100, 2) });
    expect(same).toBe(r); // nothing shown changed: no new record, no event
    r = same;
    const nextPass = next(r, { kind: 'sampled', stats: held(1200, 3) });
    expect(nextPass).not.toBe(r);
    expect(nextPass).toMatchObject({ percent: 99, last: { iteration: 3 } });
  });
  it('a run restored after a reload is unknown until its source answers; a discovered one is running', () => {
    expect(next(running(), { kind: 'restored' }).phase).toBe('unknown');
    expect(next(fresh(), { kind: 'discovered' })).toMatchObject({ phase: 'running', discovered: true });
  });
});

describe("joinParts: an operation's migrations as one run", () => {
  /** a recorded series run through next() to its end, from `source` to `target`, started at `startedAt` */
  const leg = (
    s: (typeof series)[number],
    source: string,
    target: string,
    startedAt: number,
    step: string,
    downtimeMs: number,
  ): MigrationRecord => {
    // the summary these tests check is made from the last sample, not the recorded one
    return recordedLeg({ ...s, summary: undefined }, { source, target, startedAt, step, downtimeMs });
  };
  const [s1, s2] = [series[0], series[1 % series.length]];
  const there = leg(s1, 'hostA', 'hostB', 1_000, 'upgrading QEMU, leg 1 of 2', 300);
  const back = leg(s2, 'hostB', 'hostA', 1_000 + s1.samples.at(-1)!.t + 2_000, 'upgrading QEMU, leg 2 of 2', 250);
  const joined = joinParts(there, back);

  it("keeps the first part's id and start, follows the parts on one time axis, with a marker where the second begins", () => {
    const offset = back.startedAt - there.startedAt;
    expect(joined).toMatchObject({
      id: there.id,
      startedAt: there.startedAt,
      source: 'hostA',
      target: 'hostA',
      phase: 'completed',
      operationId: 'upgrade-x',
    });
    expect(route(joined)).toEqual(['hostA', 'hostB', 'hostA']);
    expect(joined.samples).toHaveLength(there.samples.length + back.samples.length);
    expect(joined.samples[there.samples.length].t).toBe(back.samples[0].t + offset);
    expect(joined.samples.every((x, i) => i === 0 || x.t >= joined.samples[i - 1].t)).toBe(true);
    expect(joined.markers.find((m) => m.kind === 'part')).toEqual({
      t: offset,
      kind: 'part',
      label: 'upgrading QEMU, leg 2 of 2: hostB → hostA',
    });
    expect(joined.parts!.map((p) => [p.source, p.target, p.offsetMs, p.downtimeMs])).toEqual([
      ['hostA', 'hostB', 0, 300],
      ['hostB', 'hostA', offset, 250],
    ]);
  });

  it('sums what the parts paused and moved; the whole run lasts from the first start to the last end', () => {
    expect(joined.summary).toMatchObject({
      downtimeMs: 550,
      dataProcessed: there.summary!.dataProcessed! + back.summary!.dataProcessed!,
      timeElapsedMs: back.finishedAt! - there.startedAt,
    });
  });

  it('joined part by part or all at once, the run is the same', () => {
    const third = leg(s1, 'hostA', 'hostC', back.finishedAt! + 500, 'a third', 100);
    const byParts = joinParts(joinParts(there, back), third);
    expect(byParts.parts!.map((p) => p.offsetMs)).toEqual([
      0,
      back.startedAt - there.startedAt,
      third.startedAt - there.startedAt,
    ]);
    expect(byParts.samples.at(-1)!.t).toBe(third.samples.at(-1)!.t + third.startedAt - there.startedAt);
    expect(byParts.summary!.downtimeMs).toBe(650);
    expect(route(byParts)).toEqual(['hostA', 'hostB', 'hostA', 'hostC']);
  });

  it('a way back that failed makes the run failed, saying which part', () => {
    const failed = next(
      { ...back, phase: 'running', finishedAt: undefined, summary: undefined, error: undefined },
      {
        kind: 'ended',
        exitCode: 1,
        errorText: 'error: operation failed: hostA is down',
        abortRequested: false,
        at: back.finishedAt!,
      },
    );
    const run = joinParts(there, failed);
    expect(run.phase).toBe('failed');
    expect(run.error).toBe('upgrading QEMU, leg 2 of 2: error: operation failed: hostA is down');
    expect(run.summary).toBeUndefined();
  });
});
