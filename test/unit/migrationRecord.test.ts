import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobStats } from '../../src/core/migration/job';
import type { MigrationPhase, MigrationRecord } from '../../src/core/migration/record';
import { next, plannedRecord } from '../../src/core/migration/record';
import type { Sample } from '../../src/core/migration/monitor';

const dir = join(__dirname, '..', 'fixtures', 'series');
const series = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { name: string; phase: MigrationPhase; samples: Sample[] });
/** a recorded sample as the job reading it came from */
const reading = (s: Sample): JobStats => ({
  type: 'unbounded', timeElapsedMs: s.t, memoryBps: s.bps, dirtyRate: s.dirtyBps / 4096, pageSize: 4096, dataRemaining: s.remaining, dataProcessed: s.processed,
  dataTotal: s.total, iteration: s.iteration, downtimeMs: s.expectedDowntimeMs, postcopyRequests: s.postcopyRequests, raw: s.throttle === undefined ? {} : { auto_converge_throttle: s.throttle },
});
const fresh = () => plannedRecord({ id: '1d8804d1-ecca-43d9-9b8e-ae30c31ff75b-1', domainUuid: '1d8804d1-ecca-43d9-9b8e-ae30c31ff75b', domainName: 'tiny1', source: 'hostA', target: 'hostB', startedAt: 1 });

describe('a migration\'s phases, moved by next() alone, on every recorded series', () => {
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
    expect(r.samples.length).toBe(s.samples.filter((x, i) => !(x.total === 0 && (s.samples[i - 1]?.total ?? 0) > 0)).length);
    const ended = next(r, { kind: 'ended', exitCode: s.phase === 'completed' ? 0 : 1, errorText: s.phase === 'aborted' ? 'operation aborted: migration out job: canceled by client' : '', abortRequested: s.phase === 'aborted', at: 2 });
    expect(ended.phase).toBe(s.phase);
    expect(ended.markers.at(-1)).toMatchObject({ kind: s.phase });
    expect(ended.percent).toBe(s.phase === 'completed' ? 100 : r.percent);
    // an ended run stays as it ended
    expect(next(ended, { kind: 'sampled', stats: reading(s.samples[0]) })).toBe(ended);
  });
});

describe('next() for everything else that moves a migration', () => {
  const running = () => next(next(fresh(), { kind: 'launched' }), { kind: 'sampled', stats: reading({ t: 500, bps: 1e8, dirtyBps: 0, remaining: 4e8, processed: 1e8, total: 5e8, iteration: 1 }) });
  it('a lost source makes it unknown once, a reading brings it back', () => {
    const lost = next(running(), { kind: 'linkLost' });
    expect(lost.phase).toBe('unknown');
    expect(next(lost, { kind: 'linkLost' })).toBe(lost);
    expect(next(lost, { kind: 'sampled', stats: reading({ t: 900, bps: 1e8, dirtyBps: 0, remaining: 3e8, processed: 2e8, total: 5e8, iteration: 1 }) }).phase).toBe('running');
  });
  it('postcopy by hand: one marker and the phase, at once; asking again changes nothing', () => {
    const switched = next(running(), { kind: 'steered', label: 'postcopy (switched by hand)', postcopy: true });
    expect(switched.phase).toBe('postcopy');
    expect(next(switched, { kind: 'steered', label: 'again', postcopy: true })).toBe(switched);
    expect(switched.markers.map((m) => m.label)).toEqual(['postcopy (switched by hand)']);
  });
  it('success that the target does not confirm is a failure, with the reason', () => {
    const ended = next(running(), { kind: 'ended', exitCode: 0, errorText: '', abortRequested: false, targetProblem: 'tiny1 is shutoff on hostB', at: 3 });
    expect(ended).toMatchObject({ phase: 'failed', error: 'tiny1 is shutoff on hostB' });
  });
  it('an abort Ferry asked for says so, with libvirt\'s words', () => {
    const ended = next(running(), { kind: 'ended', exitCode: 1, errorText: 'End of file while reading data', abortRequested: true, at: 3 });
    expect(ended).toMatchObject({ phase: 'aborted', error: 'aborted on request (libvirt: End of file while reading data)' });
  });
  it('a run restored after a reload is unknown until its source answers; a discovered one is running', () => {
    expect(next(running(), { kind: 'restored' }).phase).toBe('unknown');
    expect(next(fresh(), { kind: 'discovered' })).toMatchObject({ phase: 'running', discovered: true });
  });
});
