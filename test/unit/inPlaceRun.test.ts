/**
 * The in-place run script (remote/scripts/inplace-run.sh) run locally: in a private mount namespace whose libvirt
 * folders and /run are temporary folders, with a fake virsh and a fake unshare (whose "second daemon" is a sleeping
 * process), so every branch runs as on a host: both hops, a hop 1 that fails, a second daemon that dies in hop 2,
 * a way back that keeps failing, and the switch to postcopy.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { InPlaceLog } from '../../src/core/inPlace';
import { parseInPlaceLog } from '../../src/core/inPlace';
import { launchInPlaceArgv } from '../../src/remote/inPlace';

const uuid = '3e27bc43-f8db-4025-b0ea-c5117bba83d2';
const temps: string[] = [];
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const pids: number[] = [];
afterEach(() => {
  for (const pid of pids.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  temps.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/**
 * A host in a temporary folder: `run` is bound over /run, the libvirt folders over theirs; `ctl` steers the fake
 * virsh: migrate-K (ok | fail | slow | kill-shadow | iterate) says how the Kth migrate call goes.
 */
function fakeHost(plan: Record<number, string> = {}) {
  const root = mkdtempSync(join(tmpdir(), 'ferry-inplace-test-'));
  temps.push(root);
  const dirs = { run: 'run', lib: 'lib', cache: 'cache', logs: 'logs', etc: 'etc', bin: 'bin', ctl: 'ctl' };
  for (const d of Object.values(dirs)) mkdirSync(join(root, d));
  mkdirSync(join(root, 'logs', 'qemu'));
  writeFileSync(
    join(root, 'etc', 'libvirtd.conf'),
    'host_uuid = "00000000-0000-0000-0000-000000000001"\nlisten_tls = 0\n',
  );
  writeFileSync(join(root, 'etc', 'qemu.conf'), 'stdio_handler = "file"\n');
  for (const [k, how] of Object.entries(plan)) writeFileSync(join(root, 'ctl', `migrate-${k}`), how);
  const ctl = join(root, 'ctl');
  const bin = join(root, 'bin');
  // the "second daemon": alive while it sleeps; its socket appears when it starts
  writeFileSync(
    join(bin, 'unshare'),
    `#!/bin/sh\necho "$1 $2 $3 $4 $5 [script] $7 $8 $9" >> '${ctl}/unshare-calls'\nd=$8\n: > "$d/sock/libvirt-sock"\necho $$ >> '${ctl}/shadow-pids'\nexec sleep 300\n`,
  );
  writeFileSync(
    join(bin, 'virsh'),
    `#!/bin/sh
# virsh -q -c URI COMMAND ARGS
uri=$3; cmd=$4
where=$(cat '${ctl}/where' 2>/dev/null || echo system)
shadow_alive() { p=$(tail -n 1 '${ctl}/shadow-pids' 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
case $uri in *socket=*/sock/*) side=shadow ;; *) side=system ;; esac
case $cmd in
  uri) if [ $side = shadow ]; then shadow_alive || exit 1; fi; echo "$uri" ;;
  domstate) if [ $side = "$where" ]; then echo running; else echo 'shut off'; fi ;;
  domjobinfo)
    case "$*" in
      *--completed*) printf 'Job type: 3\\ndowntime: 42\\n' ;;
      *) if [ -f '${ctl}/iterating' ]; then printf 'Job type: 1\\nmemory_iteration: 7\\n'; else echo 'Job type: 0'; fi ;;
    esac ;;
  dumpxml) printf "<domain>\\n  <devices>\\n    <disk type='file' device='disk'>\\n      <source file='/var/lib/libvirt/images/a.qcow2' index='1'/>\\n    </disk>\\n  </devices>\\n</domain>\\n" ;;
  migrate-postcopy) echo postcopy >> '${ctl}/calls'; rm -f '${ctl}/iterating' ;;
  migrate)
    n=$(( $(cat '${ctl}/migrate-count' 2>/dev/null || echo 0) + 1 )); echo $n > '${ctl}/migrate-count'
    echo "migrate $side $*" >> '${ctl}/calls'
    prev=; for a; do if [ "$prev" = --xml ]; then cp "$a" '${ctl}'/xml-$n; fi; prev=$a; done
    how=$(cat '${ctl}/migrate-'$n 2>/dev/null || echo ok)
    case $how in
      fail) echo 'error: operation failed: migration out failed' >&2; exit 1 ;;
      fail-after) if [ $side = system ]; then echo shadow > '${ctl}/where'; fi; echo 'error: End of file while reading data' >&2; exit 1 ;;
      kill-shadow) kill -9 "$(tail -n 1 '${ctl}/shadow-pids')"; echo 'error: Disconnected from the second daemon due to end of file' >&2; exit 1 ;;
      iterate) : > '${ctl}/iterating'; while [ -f '${ctl}/iterating' ]; do sleep 0.05; done ;;
    esac
    if [ $side = system ]; then echo shadow > '${ctl}/where'; else echo system > '${ctl}/where'; fi ;;
esac
`,
  );
  chmodSync(join(bin, 'unshare'), 0o755);
  chmodSync(join(bin, 'virsh'), 0o755);
  return { root, ctl, bin };
}

/** the run, launched as Ferry launches it, inside the fake host's mount namespace; its folder as seen from here */
async function launch(host: ReturnType<typeof fakeHost>, postcopy: 'off' | 'auto' = 'off'): Promise<string> {
  const binds = [
    ['run', '/run'],
    ['lib', '/var/lib/libvirt/qemu'],
    ['cache', '/var/cache/libvirt'],
    ['logs', '/var/log/libvirt'],
    ['etc', '/etc/libvirt'],
  ]
    .map(([from, to]) => `mkdir -p ${to} && mount --bind '${join(host.root, from)}' ${to}`)
    .join(' && ');
  const [, , script, ...args] = launchInPlaceArgv(uuid, postcopy, ['--bandwidth', '20']);
  const child = spawn(
    '/usr/bin/unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      `${binds} && mkdir -p /run/libvirt && exec sh -c "$0" "$@"`,
      script,
      ...args,
    ],
    { env: { ...process.env, PATH: `${host.bin}:${process.env.PATH}` } },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  await new Promise((resolve) => child.on('close', resolve));
  const dir = out.trim();
  expect(dir).toMatch(/^\/run\/ferry-inplace\.[A-Za-z0-9]{10}$/);
  return join(host.root, 'run', dir.slice('/run/'.length));
}

const ended = (dir: string) =>
  vi.waitFor(
    () => {
      const log = parseInPlaceLog(readFileSync(join(dir, 'log'), 'utf8'));
      if (log.exit === undefined)
        throw new Error(`still waiting for the run to end: ${readFileSync(join(dir, 'log'), 'utf8')}`);
      return log;
    },
    { timeout: 20_000, interval: 50 },
  );
const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : []);
const shadowPids = (host: ReturnType<typeof fakeHost>) => lines(join(host.ctl, 'shadow-pids')).map(Number);

describe('the in-place run on a host', { timeout: 30_000 }, () => {
  it('runs both hops over unix sockets in its folder, then stops the second daemon and keeps only its logs', async () => {
    const host = fakeHost();
    const dir = await launch(host);
    const log: InPlaceLog = await ended(dir);
    expect(log).toMatchObject({ exit: 0, where: 'system', daemon: 'libvirtd', errors: [] });
    expect(log.attempts.map((a) => [a.hop, a.k, a.exit])).toEqual([
      [1, 1, 0],
      [2, 2, 0],
    ]);
    const run = `/run/${dir.split('/').pop()}`;
    expect(lines(join(host.ctl, 'calls'))).toEqual([
      `migrate system -q -c qemu:///system migrate --live --p2p --unsafe ${uuid} qemu+unix:///system?socket=${run}/sock/libvirt-sock --migrateuri unix://${run}/mig/hop-1 --xml ${run}/there.xml --bandwidth 20`,
      `migrate shadow -q -c qemu+unix:///system?socket=${run}/sock/libvirt-sock migrate --live --p2p --unsafe ${uuid} qemu+unix:///system?socket=${run}/system/libvirt-sock --migrateuri unix://${run}/mig/hop-2 --xml ${run}/domain.xml --bandwidth 20`,
    ]);
    // the second daemon's settings: its own host UUID and socket folder, in place of the system daemon's
    expect(lines(join(host.ctl, 'unshare-calls'))).toEqual([
      `-m --propagation private sh -c [script] ferry-shadow /run/${dir.split('/').pop()} libvirtd`,
    ]);
    expect(shadowPids(host).every((p) => !alive(p))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['hop-1.log', 'hop-2.log', 'log', 'shadow.log']);
    expect(readFileSync(join(dir, 'hop-1.log'), 'utf8')).toBe('Job type: 3\ndowntime: 42\nferry-exit=0\n');
    // the way there keeps the second daemon from giving the image back under the running QEMU; the way back is as it was
    expect(readFileSync(join(host.ctl, 'xml-1'), 'utf8')).toContain(
      "<source file='/var/lib/libvirt/images/a.qcow2' index='1'><seclabel model='dac' relabel='no'/></source>",
    );
    expect(readFileSync(join(host.ctl, 'xml-2'), 'utf8')).toContain(
      "<source file='/var/lib/libvirt/images/a.qcow2' index='1'/>",
    );
  });

  it('a hop 1 that fails leaves the domain under the system daemon and removes the second one', async () => {
    const host = fakeHost({ 1: 'fail' });
    const dir = await launch(host);
    const log = await ended(dir);
    expect(log).toMatchObject({ exit: 11, where: 'system', errors: ['operation failed: migration out failed'] });
    expect(shadowPids(host).every((p) => !alive(p))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['hop-1.log', 'log', 'shadow.log']);
  });

  it('a hop 1 whose virsh fails after the switchover goes on to the way back: the second daemon runs the domain', async () => {
    const host = fakeHost({ 1: 'fail-after' });
    const dir = await launch(host);
    const log = await ended(dir);
    expect(log).toMatchObject({ exit: 0, where: 'system' });
    expect(log.attempts.map((a) => [a.hop, a.exit])).toEqual([
      [1, 1],
      [2, 0],
    ]);
    expect(readFileSync(join(dir, 'log'), 'utf8')).toContain('hop1-ended-under-shadow\n');
  });

  it('a second daemon that dies in hop 2 is started again and the way back tried again', async () => {
    const host = fakeHost({ 2: 'kill-shadow' });
    const dir = await launch(host);
    const log = await ended(dir);
    expect(log).toMatchObject({ exit: 0, where: 'system', shadowRestarted: 1 });
    expect(log.attempts.map((a) => [a.hop, a.exit])).toEqual([
      [1, 0],
      [2, 1],
      [2, 0],
    ]);
    expect(shadowPids(host)).toHaveLength(2);
    expect(shadowPids(host).every((p) => !alive(p))).toBe(true);
  });

  it('a way back that keeps failing leaves the domain running under the second daemon, which is kept', async () => {
    const host = fakeHost({ 2: 'fail', 3: 'fail', 4: 'fail' });
    const dir = await launch(host);
    const log = await ended(dir);
    pids.push(...shadowPids(host));
    expect(log).toMatchObject({ exit: 12, where: 'shadow' });
    expect(log.shadowStopped).toBeUndefined(); // kept running: its URI and the way back are in the message
    expect(log.attempts.filter((a) => a.hop === 2)).toHaveLength(3);
    expect(alive(shadowPids(host).at(-1)!)).toBe(true);
    expect(existsSync(join(dir, 'sock', 'libvirt-sock'))).toBe(true);
  });

  it('switches a hop to postcopy past its 5th pass over memory', async () => {
    const host = fakeHost({ 1: 'iterate' });
    const dir = await launch(host, 'auto');
    const log = await ended(dir);
    expect(log).toMatchObject({ exit: 0, postcopySwitched: [7] });
    expect(lines(join(host.ctl, 'calls'))[0]).toMatch(/ migrate --live --p2p --unsafe --postcopy /);
    expect(lines(join(host.ctl, 'calls'))).toContain('postcopy');
  });
});
