/**
 * The switchover gate ("keep TCP connections") on two fake hosts under fake timers: the channels open at once and wait;
 * the bulk copy is loaded while memory moves; at the switchover the source lists what changed, the target loads it,
 * and only then is the domain resumed through the resume shell opened beforehand. A late load is cut at its budget, a
 * failed load or resume is reported, a target lost before the resume leaves the domain to the source's failsafe, and
 * a migration that fails runs nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { importArgv } from '../../src/core/conntrack';
import { deferred } from '../../src/core/emitter';
import type { MigrationRecord } from '../../src/core/migration/record';
import { plannedRecord } from '../../src/core/migration/record';
import { virsh } from '../../src/core/virsh';
import type { Gate } from '../../src/services/migration/gate';
import { prepareGate } from '../../src/services/migration/gate';
import type { HostConnection } from '../../src/transport/hostConnection';
import { silentLogger } from '../../src/transport/logger';
import type { ExecOptions } from '../../src/transport/sshConnection';
import { SshError } from '../../src/transport/sshError';
import { FakeHost } from '../support/fakeHost';

const URI = 'qemu:///system';
const UUID = '5edaad3e-7d51-4c78-91bc-ba8a3143c6b0';
const LOG = '/tmp/ferry-migrate.AbCdEf0123/virsh.log';
const ADDRESS = '198.51.100.20';
// conntrack-tools 1.4.7's -o extended listing of three of the VM's flows (captured): the bulk copy
const listed = readFileSync(join(__dirname, '..', 'fixtures', 'conntrack-export.txt'), 'utf8')
  .split('@@ferry-extended@@')[1]
  .replace(/^\n/, '');
// two of them changed since (their timers and state moved on): what the listing prints at the go, after its path
const changed =
  'ferry-path events\n' +
  listed
    .split('\n')
    .filter(Boolean)
    .slice(0, 2)
    .map((l) => l.replace(/ 299 /, ' 431999 '))
    .join('\n') +
  '\n';

let source: FakeHost;
let target: FakeHost;
/** what happened, in order, on both hosts */
let events: string[];
/** the final load's answer: held until the test gives it */
let finalLoad: ReturnType<typeof deferred<{ code: number; stderr?: string }>>;
let domstate: string;
let gate: Gate;
let record: MigrationRecord;

const isGateListing = (a: readonly string[]) => a[0] === 'sh' && a[3] === 'ferry-conntrack-gate';
const resumeShell = () => target.sessions.find((s) => s.argv.join(' ') === virsh(URI).join(' '))!;
const listing = () => source.sessions.find((s) => isGateListing(s.argv))!;
const settle = async (ms = 0) => {
  await vi.advanceTimersByTimeAsync(ms);
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

beforeEach(async () => {
  vi.useFakeTimers();
  events = [];
  domstate = 'running';
  finalLoad = deferred();
  source = new FakeHost('hostA');
  target = new FakeHost('hostB');
  source.onSession(isGateListing, {
    opened: (io) => io.print(`${listed}ferry-snapshot-end\n`),
    line: (line, io) => {
      events.push(`source: ${line}`);
      if (line === 'go') io.print(changed);
    },
    ended: (io) => io.exit(0),
  });
  let loads = 0;
  target.onExec(importArgv.join(' '), async (_argv, options: ExecOptions | undefined) => {
    const final = loads++ === 0; // the final load's channel is opened first, at once, and waits for its input
    const text = String(await options!.stdin);
    if (target.state.kind !== 'connected') throw new SshError('closed', 'hostB: connection lost');
    if (!final) {
      events.push(`target: bulk load of ${text.split('\n').filter(Boolean).length} flows`);
      return { code: 0 };
    }
    if (!text) return { code: 0 }; // the gate cancelled: nothing to load
    events.push(`target: final load (${text.split('\n').filter((l) => l.startsWith('-D ')).length} replaced)`);
    const answer = await finalLoad.promise;
    events.push('target: final load done');
    return answer;
  });
  target.shell = (words) => {
    events.push(`target: virsh ${words[0]}`);
    if (words.join(' ') === `resume ${UUID}`) return `Domain '${UUID}' resumed\n\n`;
    if (words.join(' ') === `domstate ${UUID}`) return `${domstate}\n\n`;
    return `error: unknown command: '${words[0]}'\n`;
  };
  source.connect();
  target.connect();
  record = plannedRecord({
    id: `${UUID}-1`,
    domainUuid: UUID,
    domainName: 'tiny1',
    source: 'hostA',
    target: 'hostB',
    startedAt: 1,
    logPath: LOG,
  });
  gate = prepareGate(
    { source: source as unknown as HostConnection, target: target as unknown as HostConnection },
    URI,
    silentLogger,
    record,
    LOG,
    { addresses: [ADDRESS], budgetMs: 200 },
    'qemu+ssh://root@10.0.0.2/system?no_tty=1',
  );
  await settle();
});
afterEach(() => {
  source.dispose();
  target.dispose();
  vi.useRealTimers();
});

/** virsh migrate ends: its launcher writes the exit marker into the log the gate follows */
const migrateEnds = (code: number) =>
  source.openStreams((a) => a.join(' ') === `tail -n +1 -F ${LOG}`)[0].emit(`ferry-exit=${code}`);

describe('the switchover gate', () => {
  it('opens every channel at once, the bulk copy loaded on the target while memory moves', () => {
    expect(source.openStreams(() => true).map((s) => s.argv.join(' '))).toEqual([`tail -n +1 -F ${LOG}`]);
    expect(listing().argv.slice(4)).toEqual([ADDRESS]);
    expect(resumeShell().written).toBe(''); // connected to the target's libvirt, asked nothing yet
    expect(target.execsOf(importArgv.join(' '))).toHaveLength(2);
    expect(events).toEqual(['target: bulk load of 3 flows']);
  });

  it('resumes the target through the resume shell only once the changed flows are loaded, and measures the extra pause', async () => {
    migrateEnds(0);
    await settle(10);
    expect(events).toEqual(['target: bulk load of 3 flows', 'source: go', 'target: final load (2 replaced)']);
    expect(resumeShell().written).toBe(''); // the domain stays paused while the load runs
    await settle(30);
    expect(resumeShell().written).toBe('');
    finalLoad.resolve({ code: 0 });
    const report = await gate.done;
    expect(events.slice(3)).toEqual(['target: final load done', 'target: virsh resume', 'target: virsh domstate']);
    expect(report).toEqual({
      addresses: [ADDRESS],
      bulkEntries: 3,
      finalChanged: 2,
      listPath: 'events',
      listMs: expect.any(Number),
      loadMs: 40,
      missing: 0,
      resumeMs: expect.any(Number),
      extraPauseMs: 40,
    });
    expect(listing().closed).toBe(true);
    expect(resumeShell().closed).toBe(true);
    expect(source.openStreams(() => true)).toEqual([]); // the log followed no more
  });

  it('the poll loop seeing the exit status first opens the gate just the same, once', async () => {
    gate.switchoverSeen(0);
    migrateEnds(0);
    gate.switchoverSeen(0);
    finalLoad.resolve({ code: 0 });
    expect((await gate.done).missing).toBe(0);
    expect(events.filter((e) => e === 'source: go' || e === 'target: virsh resume')).toEqual([
      'source: go',
      'target: virsh resume',
    ]);
  });

  it('a load past its budget: the domain is resumed anyway, the flows not yet confirmed counted', async () => {
    migrateEnds(0);
    await settle(199);
    expect(events).not.toContain('target: virsh resume');
    await settle(1);
    const report = await gate.done;
    expect(report).toMatchObject({ budgetExceeded: true, missing: 2, loadMs: 200, error: undefined });
    expect(events.at(-2)).toBe('target: virsh resume');
  });

  it('a failed load is reported, and the domain resumed all the same', async () => {
    migrateEnds(0);
    finalLoad.resolve({
      code: 1,
      stderr: 'conntrack v1.4.7 (conntrack-tools): Operation failed: invalid parameters\n',
    });
    const report = await gate.done;
    expect(report).toMatchObject({ missing: 2, error: 'the final conntrack import failed' });
    expect(events).toContain('target: virsh resume');
  });

  it('a resume that did not take is reported with the state the domain is in', async () => {
    domstate = 'paused';
    migrateEnds(0);
    finalLoad.resolve({ code: 0 });
    expect((await gate.done).error).toBe('resuming on hostB: the domain is paused there after the resume (check it)');
  });

  it("the target's link lost before the resume: the run's gate ends, saying the domain may still be paused (the source's failsafe resumes it)", async () => {
    target.drop();
    migrateEnds(0);
    const report = await gate.done;
    expect(report.error).toBe(
      'the final conntrack import failed; resuming on hostB: the virsh shell is closed (the domain may still be paused there: check it)',
    );
    expect(report.missing).toBe(2);
    expect(events).not.toContain('target: virsh resume');
  });

  it('a migration that failed runs nothing: no go, no load, no resume; every waiting channel ended', async () => {
    migrateEnds(1);
    const report = await gate.done;
    expect(report).toEqual({ addresses: [ADDRESS], bulkEntries: 3 });
    await settle();
    expect(events).toEqual(['target: bulk load of 3 flows']);
    expect(listing().written).toBe('');
    expect(listing().closed).toBe(true);
    expect(resumeShell().closed).toBe(true);
  });
});
