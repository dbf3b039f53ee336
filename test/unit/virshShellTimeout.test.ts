/** The interactive virsh over a fake session: an answer that never comes is a timeout; markers split across chunks. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { VirshShell } from '../../src/services/virshShell';
import { FakeHost, VirshModel } from '../support/fakeHost';

const UUID = '5edaad3e-7d51-4c78-91bc-ba8a3143c6b0';
let host: FakeHost;

beforeEach(() => {
  vi.useFakeTimers();
  host = new FakeHost('hostA');
  host.shell = VirshModel.fromCapture().shell;
  host.connect();
});
afterEach(() => vi.useRealTimers());

describe('VirshShell on a fake session', () => {
  it('rejects a question that gets no answer within its timeout, and closes the shell', async () => {
    const shell = await VirshShell.open(host, 'qemu:///system', 'listing shell', { timeoutMs: 3000 });
    expect((await shell.ask([['domname', UUID]])).texts).toEqual(['tiny1\n']);
    host.shell = () => 'hang';
    const hung = shell.ask([['list', '--all', '--uuid']]).catch((e: Error) => e);
    const behind = shell.ask([['domname', UUID]]).catch((e: Error) => e);
    await vi.advanceTimersByTimeAsync(2999);
    expect(shell.isClosed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = (await hung) as Error & { kind: string };
    expect(error.message).toBe('hostA: the listing shell gave no answer within 3 s to: list --all --uuid');
    expect(error.kind).toBe('timeout');
    expect(((await behind) as Error).message).toMatch(/no answer within 3 s/); // its answer could no longer be matched
    expect(shell.isClosed).toBe(true);
    expect(host.sessions[0].closed).toBe(true);
    await expect(shell.ask([['domname', UUID]])).rejects.toThrow(/closed/);
  });

  it('leaves no timer behind for questions answered', async () => {
    const shell = await VirshShell.open(host, 'qemu:///system', 'job reader', { timeoutMs: 1000 });
    for (let i = 0; i < 3; i++) await shell.ask([['domname', UUID]]);
    expect(vi.getTimerCount()).toBe(0);
    shell.close();
  });

  it('finds each answer when virsh prints it a few characters at a time, markers split across chunks', async () => {
    host.chunkSize = 3;
    const shell = await VirshShell.open(host, 'qemu:///system', 'listing shell');
    const [both, one] = await Promise.all([
      shell.ask([
        ['list', '--all', '--uuid'],
        ['domname', UUID],
      ]),
      shell.ask([['domname', '3be0a08c-2aac-4f9c-9bc8-f4d621f637e9']]),
    ]);
    expect(both.texts).toEqual([
      '5edaad3e-7d51-4c78-91bc-ba8a3143c6b0\n3be0a08c-2aac-4f9c-9bc8-f4d621f637e9\n',
      'tiny1\n',
    ]);
    expect(one.texts).toEqual([`${VirshModel.fromCapture().domains[1].name}\n`]);
    shell.close();
  });
});
