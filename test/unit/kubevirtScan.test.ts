/**
 * The KubeVirt node scan (remote/scripts/kubevirt-pods.sh) run locally under dash, against processes named
 * virt-launcher as KubeVirt's (a copy of sh, so its process name is the file's) with the arguments a pod could give
 * its launcher, hostile ones included: nothing of theirs is run or passed on, and Ferry's parser keeps only the pod
 * whose names Kubernetes allows.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScanBlock } from '../../src/core/kubevirt';
import { kubevirtScanArgv } from '../../src/remote/kubevirt';
import { waitFor } from '../support/waitFor';

const dir = mkdtempSync(join(tmpdir(), 'ferry-kvscan-'));
const launcher = join(dir, 'virt-launcher');
const pwned = join(dir, 'pwned');
const UID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const launchers: number[] = [];

/** a process named virt-launcher with these arguments, that only waits */
function startLauncher(...args: string[]) {
  const child = spawn(launcher, ['-c', 'while :; do sleep 1; done', ...args], { stdio: 'ignore' });
  launchers.push(child.pid!);
  return child.pid!;
}

const scan = () => {
  const [cmd, ...argv] = kubevirtScanArgv(0);
  const r = spawnSync(cmd === 'sh' ? 'dash' : cmd, argv, { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
};

beforeAll(() => copyFileSync('/bin/sh', launcher));
afterAll(() => {
  for (const pid of launchers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ended by its test
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** the scan's last complete block, as Ferry reads it (undefined before the first "@scan") */
const lastBlock = (text: string) => {
  const blocks = text.split('@scan\n');
  return blocks.length < 2 ? undefined : parseScanBlock(blocks[blocks.length - 2].split('\n'));
};

describe('the KubeVirt node scan, run locally', () => {
  it('lists a launcher by its arguments and leaves hostile ones inert', async () => {
    const good = startLauncher('--name', 'web1', '--uid', UID, '--namespace', 'prod');
    const hostile = [
      startLauncher('--name', `$(touch ${pwned})`, '--uid', UID, '--namespace', 'prod'),
      startLauncher('--name', 'a\nb', '--uid', UID, '--namespace', 'prod'),
      startLauncher('--name', 'web2', '--uid', UID, '--namespace', "x'; touch " + pwned),
      startLauncher('--name', 'web3', '--uid', `\`touch ${pwned}\``, '--namespace', 'ns'),
    ];
    const text = await waitFor('the scan to see every launcher', () => {
      const out = scan();
      return [good, ...hostile].every((p) => out.includes(`pod ${p} `)) && out;
    });
    expect(text.endsWith('@scan\n')).toBe(true);
    const lines = text.trim().split('\n');
    // every line is the scan's own: words of the closed alphabet, one pod a line
    // (a launcher of the lab's, if one runs on this machine, brings its domain's status line too)
    for (const l of lines.slice(0, -1)) expect(l).toMatch(/^(pod( [A-Za-z0-9._/-]+){13}|dom( [a-z0-9-]+){6})$/);
    const pods = lastBlock(text)!.filter((p) => [good, ...hostile].includes(p.launcherPid));
    // the good one, and web3 (a namespace and a name Kubernetes allows; its unreadable uid left out)
    expect(pods.map((p) => [p.namespace, p.vm, p.vmiUid])).toEqual([
      ['prod', 'web1', UID],
      ['ns', 'web3', undefined],
    ]);
    expect(pods[0]).toMatchObject({ socket: undefined, daemon: undefined, qemu: undefined, migrationProxy: false });
    expect(existsSync(pwned)).toBe(false);
  });

  it("reads a pod's QEMU as it is after its exec, not as the daemon's child it was before", async () => {
    // here every process shares the launcher's mount namespace: a process named libvirtd is the pod's daemon until it
    // execs, as libvirt's child does, into QEMU with no capabilities (as root: an empty bounding set)
    const qemuBinary = join(dir, 'qemu-system-x86_64');
    copyFileSync('/bin/sh', qemuBinary);
    copyFileSync('/bin/sh', join(dir, 'libvirtd'));
    const go = join(dir, 'exec-now');
    const launcherPid = startLauncher('--name', 'execs', '--uid', UID, '--namespace', 'prod');
    const qemu = ['setpriv', '--inh-caps=-all', '--bounding-set=-all', qemuBinary, '-c', 'while :; do sleep 1; done'];
    const daemon = spawn(
      join(dir, 'libvirtd'),
      ['-c', `while [ ! -e ${go} ]; do sleep 0.05; done; exec "$@"`, 'libvirtd', ...qemu],
      { stdio: 'ignore' },
    );
    launchers.push(daemon.pid!);
    const [cmd, ...argv] = kubevirtScanArgv(0.1);
    const stream = spawn(cmd === 'sh' ? 'dash' : cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    stream.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const pod = () => lastBlock(out)?.find((p) => p.launcherPid === launcherPid);
    try {
      await waitFor('the daemon in the pod', () => pod()?.daemon?.pid === daemon.pid);
      expect(pod()!.qemu).toBeUndefined();
      writeFileSync(go, '');
      await waitFor('the same process as its QEMU', () => pod()?.qemu?.pid === daemon.pid);
      expect(pod()!.qemu).toEqual({ pid: daemon.pid, uid: process.getuid!(), capEff: '0000000000000000' });
      expect(pod()!.daemon).toBeUndefined();
    } finally {
      stream.kill();
    }
  });

  it('prints a block when a launcher goes, and none that repeats the last', async () => {
    const pid = startLauncher('--name', 'gone', '--uid', UID, '--namespace', 'prod');
    const [cmd, ...argv] = kubevirtScanArgv(0.2);
    const stream = spawn(cmd === 'sh' ? 'dash' : cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    stream.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('the first block with the launcher', () => out.includes(`pod ${pid} `));
      const blocks = () => out.split('@scan\n').length - 1;
      const before = blocks();
      process.kill(pid, 'SIGKILL');
      await waitFor(
        'a block without it',
        () => blocks() > before && !out.split('@scan\n').at(-2)!.includes(`pod ${pid} `),
      );
      // a scan that finds what the last one found prints nothing: no two blocks in a row are the same
      const printed = out.split('@scan\n').slice(0, -1);
      printed.forEach((b, i) => i && expect(b).not.toBe(printed[i - 1]));
    } finally {
      stream.kill();
    }
  });
});
