/**
 * scripts/qemu-of-uuid.sh run here by /bin/sh against this machine's own /proc: processes started for the test with
 * QEMU's `-uuid UUID` among their arguments are found, in either form and case QEMU takes, and only they (not one
 * that mentions the UUID otherwise or inside one argument, nor one of another UUID, nor the script's own grep).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { qemuOfUuidArgv } from '../../src/remote/qemuProbe';
import { waitFor } from '../support/waitFor';

const UUID = '34f65f68-8f52-4b5e-9ad8-9965415465c8';
const OTHER = '34f65f68-8f52-4b5e-9ad8-9965415465c9';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
});

/**
 * a process whose command line is `sh -c 'sleep 60; :' <args…>` (the `:` keeps sh from exec'ing sleep), once /proc
 * shows that command line (until its exec, the child's is node's)
 */
async function holding(...args: string[]): Promise<number> {
  const child = spawn('sh', ['-c', 'sleep 60; :', 'fake-qemu', ...args], { stdio: 'ignore' });
  children.push(child);
  const pid = child.pid!;
  const cmdline = () => readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  return waitFor(`pid ${pid} to run fake-qemu`, () => cmdline().includes('fake-qemu') && pid);
}

function found(uuid: string): string[] {
  const [cmd, ...args] = qemuOfUuidArgv(uuid);
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

describe('the QEMU of a UUID on this host', () => {
  it('is each process with -uuid followed by exactly that UUID, in whichever case Ferry was given it', async () => {
    const qemu = await holding('-name', 'guest=tiny1', '-uuid', UUID, '-smp', '1');
    // as QEMU takes it too: its long form, and the UUID in capitals
    const long = await holding('--uuid', UUID);
    const capitals = await holding('-uuid', UUID.toUpperCase());
    await holding('-uuid', OTHER);
    await holding('-name', UUID, '-uuid', `${UUID}0`);
    await holding(`-uuid=${UUID}`);
    await holding('-uuid');
    // one argument holding the pair across its own line breaks is not the pair
    await holding(`x\n-uuid\n${UUID}`);
    const expected = [qemu, long, capitals].sort();
    expect(found(UUID).map(Number).sort()).toEqual(expected);
    expect(found(UUID.toUpperCase()).map(Number).sort()).toEqual(expected);
  });

  it('is nothing when no process runs it', () => {
    expect(found('00000000-0000-4000-8000-000000000000')).toEqual([]);
  });

  it('is asked only with a UUID: anything else never reaches the host', () => {
    for (const bad of ['', '-uuid', `${UUID}; reboot`, '.*', UUID.replace(/-/g, '')])
      expect(() => qemuOfUuidArgv(bad)).toThrow(/not a domain UUID/);
  });
});
