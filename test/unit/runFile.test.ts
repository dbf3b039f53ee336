import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assess } from '../../src/core/migration/monitor';
import type { Sample } from '../../src/core/migration/monitor';
import { isRunId, parseRunFile } from '../../src/core/migration/runFile';

const uuid = '1b3b272e-ac03-430b-9dae-5cf67a30783a';
const recorded = JSON.parse(readFileSync('test/fixtures/series/idle.json', 'utf8')) as { samples: Sample[] };
/** a run as Ferry exports it, made from a recorded series */
const exported = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: `${uuid}-1795310880246`,
    domainUuid: uuid,
    domainName: 'tiny1',
    source: 'hostA',
    target: 'hostB',
    startedAt: 1795310880246,
    finishedAt: 1795310882246,
    phase: 'completed',
    percent: 100,
    samples: recorded.samples,
    markers: [{ t: 800, kind: 'completed', label: 'completed' }],
    ...over,
  });

describe('importing a run file', () => {
  it('takes back a run as Ferry exports it, marked imported', () => {
    const run = parseRunFile(exported());
    expect(run).toMatchObject({
      id: `${uuid}-1795310880246`,
      domainUuid: uuid,
      domainName: 'tiny1',
      phase: 'completed',
      imported: true,
    });
    expect(run.samples).toEqual(recorded.samples);
  });

  it("refuses ids and UUIDs that would leave the history folder or are not Ferry's", () => {
    expect(() => parseRunFile(exported({ id: '../../../../settings' }))).toThrow(
      /its id is not of the form <domain uuid>-<start time>/,
    );
    expect(() => parseRunFile(exported({ id: `${uuid}-1/../../x` }))).toThrow(/its id is not/);
    expect(() => parseRunFile(exported({ domainUuid: '../..' }))).toThrow(/its domainUuid is not a UUID/);
    // an id of another domain's form: it would be stored under this domain's folder with a name it does not own
    expect(() => parseRunFile(exported({ id: '00000000-0000-4000-8000-000000000000-5' }))).toThrow(/its id is not/);
    expect(isRunId(`${uuid}-17`, uuid)).toBe(true);
    expect(isRunId(`${uuid}-17.json`, uuid)).toBe(false);
  });

  it('keeps only known fields of the right type: no log path on a host, no live job, nothing extra', () => {
    const run = parseRunFile(
      exported({
        logPath: '/etc/passwd',
        last: { type: 'unbounded' },
        terminal: { profile: 'rm -rf ~' },
        error: 42,
        options: { p2p: 'yes' },
        findings: [
          { id: 'x', severity: 'fatal', title: 't', evidence: 'e' },
          { id: 'cap', severity: 'warning', title: 'capped', evidence: '20 MiB/s', extra: 1 },
        ],
      }),
    );
    expect(Object.keys(run)).not.toContain('logPath');
    expect(Object.keys(run)).not.toContain('last');
    expect(Object.keys(run)).not.toContain('terminal');
    expect(run.error).toBeUndefined();
    expect(run.options).toBeUndefined();
    expect(run.findings).toEqual([{ id: 'cap', severity: 'warning', title: 'capped', evidence: '20 MiB/s' }]);
  });

  it("keeps a gate's listing path only when it is one the gate prints", () => {
    const gate = (listPath: unknown) => parseRunFile(exported({ gate: { addresses: ['10.0.1.100'], listPath } })).gate;
    expect(gate('relisted-enobufs')?.listPath).toBe('relisted-enobufs');
    for (const listPath of ['constructor', '$(zap) [x](command:ferry.x)', 7])
      expect(gate(listPath)?.listPath).toBeUndefined();
  });

  it("keeps a joined run's parts and their marker; a part of the wrong shape goes, and more than 16 are refused", () => {
    const part = (n: number, source: string, target: string) => ({
      id: `${uuid}-${n}`,
      source,
      target,
      step: `leg ${n}`,
      offsetMs: n * 1000,
      startedAt: n,
      phase: 'completed',
      downtimeMs: 300,
      dataProcessed: n * 1e8,
    });
    const joined = {
      parts: [part(1, 'hostA', 'hostB'), part(2, 'hostB', 'hostA')],
      markers: [{ t: 2000, kind: 'part', label: 'leg 2: hostB → hostA' }],
    };
    const run = parseRunFile(exported(joined));
    expect(run.parts).toEqual(joined.parts);
    expect(run.markers).toEqual(joined.markers);
    const crafted = parseRunFile(
      exported({
        parts: [
          part(1, 'hostA', 'hostB'),
          { ...part(2, 'hostB', 'hostA'), offsetMs: '2000' },
          { ...part(3, 'x', 'y'), source: 'x'.repeat(2000) },
          { ...part(4, 'a', 'b'), shell: '$(rm -rf ~)' },
        ],
      }),
    );
    expect(crafted.parts!.map((p) => p.id)).toEqual([`${uuid}-1`, `${uuid}-4`]);
    expect(Object.keys(crafted.parts![1])).not.toContain('shell');
    expect(
      parseRunFile(exported({ parts: [{ ...part(1, 'hostA', 'hostB'), dataProcessed: 'lots' }] })).parts![0],
    ).not.toHaveProperty('dataProcessed');
    expect(() => parseRunFile(exported({ parts: Array.from({ length: 17 }, (_, i) => part(i, 'a', 'b')) }))).toThrow(
      /holds 17 entries where Ferry keeps at most 16/,
    );
  });

  it('refuses what is not a run, with what is wrong', () => {
    expect(() => parseRunFile('{')).toThrow(/not JSON/);
    expect(() => parseRunFile('[]')).toThrow(/not a Ferry migration run/);
    expect(() => parseRunFile(exported({ samples: [{ t: 'x' }] }))).toThrow(/some of its samples are not samples/);
    expect(() => parseRunFile(exported({ phase: 'owned' }))).toThrow(/not a Ferry migration run/);
  });

  it('refuses 200,000 samples, and a long run is assessed without overflowing the stack', () => {
    const many = Array.from({ length: 200_000 }, (_, i) => ({
      t: i,
      bps: i,
      dirtyBps: 0,
      remaining: 1,
      processed: i,
      total: 2,
      iteration: 1,
    }));
    expect(() => parseRunFile(exported({ samples: many }))).toThrow(/200000 entries where Ferry keeps at most 20000/);
    expect(assess(many, { autoConverge: false, postcopy: false }).peakBps).toBe(199_999);
  });
});
