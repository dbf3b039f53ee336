/**
 * The programs Ferry runs on hosts (src/remote/scripts), run here by a local /bin/sh with fake commands on PATH
 * that answer as the lab's hosts did (test/fixtures), and kept in step with the TypeScript that reads their output.
 * (The QEMU probe, the diagnosis probe, save/restore and the conntrack listings have their own local-run tests.)
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GATE_PATH_MARK, KERNEL_TABLE, LISTED_MARK, LOADED_MARK, SNAPSHOT_END } from '../../src/core/conntrack';
import { parseKernelQos } from '../../src/core/qos';
import { LIBVIRT_QEMU_STATUS_DIR } from '../../src/core/qemuBinary';
import { parseAddresses } from '../../src/core/virsh';
import type { Argv } from '../../src/core/virsh';
import { addressesArgv } from '../../src/remote/addresses';
import { loadAndDigestArgv } from '../../src/remote/conntrack';
import { launchMigrationArgv, removeLogArgv } from '../../src/remote/migration';
import { missingPathsArgv } from '../../src/remote/preflight';
import { kernelQosArgv } from '../../src/remote/qos';
import { LIBVIRT_STATUS_DIR } from '../../src/services/diagnosis';

const SCRIPTS = join(__dirname, '..', '..', 'src', 'remote', 'scripts');
const script = (name: string) => readFileSync(join(SCRIPTS, name), 'utf8');
const fixture = (...p: string[]) => readFileSync(join(__dirname, '..', 'fixtures', ...p), 'utf8');
const UUID = '34f65f68-8f52-4b5e-9ad8-9965415465c8';

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ferry-remote-'));
  temps.push(d);
  return d;
}
/** a fake command: a sh script that logs its arguments to $bin/<name>.args and runs `body` */
function fake(bin: string, name: string, body: string): void {
  writeFileSync(join(bin, name), `#!/bin/sh\nprintf '%s\\n' "$*" >>"${bin}/${name}.args"\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
}
function run(argv: Argv, bin: string) {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: 10_000,
    env: { ...process.env, PATH: `${bin}:/usr/bin:/bin` },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the tc/QoS read (tc-read.sh)', () => {
  it('gives the parser tc’s class, filter and qdisc listings and the device’s byte counters', () => {
    const bin = temp();
    writeFileSync(join(bin, 'class.txt'), fixture('qos', 'tc-class-htb.txt'));
    writeFileSync(join(bin, 'qdisc.txt'), fixture('qos', 'tc-ingress-no-police.txt'));
    fake(
      bin,
      'tc',
      `case "$*" in *class*) cat "${bin}/class.txt" ;; *filter*) ;; *qdisc*) cat "${bin}/qdisc.txt" ;; esac`,
    );
    // the loopback device: its /sys counters are real, the device name is data ($1)
    const r = run(kernelQosArgv('lo'), bin);
    expect(r.code).toBe(0);
    const kernel = parseKernelQos(r.stdout);
    expect(kernel).toMatchObject({ htb: { rateBits: 10e6, ceilBits: 20e6, burstBytes: 65536 }, ingress: true });
    expect(kernel.txBytes).toBeGreaterThanOrEqual(0);
    expect(kernel.rxBytes).toBeGreaterThanOrEqual(0);
    expect(readFileSync(join(bin, 'tc.args'), 'utf8')).toBe(
      '-s -d class show dev lo\n-s -d filter show dev lo parent ffff:\nqdisc show dev lo\n',
    );
  });
});

describe('the address read (addresses.sh)', () => {
  it('lists each domain’s interfaces and leases, then the neighbours, and the parser pairs them', () => {
    const bin = temp();
    const other = '6a3e1b52-7c1d-4e8f-9a0b-00000000aaaa';
    fake(
      bin,
      'virsh',
      [
        'case "$*" in',
        `  *" domiflist ${UUID}") echo ' vnet0   bridge   br0   virtio   52:54:00:00:01:64' ;;`,
        `  *" domifaddr ${UUID} --source lease") echo ' vnet0  52:54:00:00:01:64  ipv4  10.0.1.100/24' ;;`,
        '  *" domiflist "*) echo " vnet9   bridge   br0   virtio   52:54:00:00:09:99" ;;',
        '  *) echo "error: failed to get domain" >&2; exit 1 ;;',
        'esac',
      ].join('\n'),
    );
    fake(
      bin,
      'ip',
      `printf '%s\\n' '10.0.1.100 dev br0 lladdr 52:54:00:00:01:64 STALE' '10.0.1.101 dev br0 lladdr 52:54:00:00:01:64 REACHABLE' '10.0.1.7 dev br0  FAILED'`,
    );
    const r = run(addressesArgv('qemu:///system', [UUID, other]), bin);
    expect(r.code).toBe(0); // a domain virsh cannot answer for does not fail the read
    const found = parseAddresses(r.stdout);
    expect(found.get(UUID)).toEqual({ leased: ['10.0.1.100'], heard: ['10.0.1.101'] });
    expect(found.get(other)).toEqual({ leased: [], heard: [] });
    expect(readFileSync(join(bin, 'virsh.args'), 'utf8').split('\n')[0]).toBe(`-q -c qemu:///system domiflist ${UUID}`);
    expect(readFileSync(join(bin, 'ip.args'), 'utf8')).toBe('-4 neigh show\n');
    // the captured output of the same script parses as before
    expect(parseAddresses(fixture('virsh-addresses.txt')).get(UUID)?.heard).toEqual(['10.0.1.100']);
  });
});

describe('the migration launcher (migration-launch.sh, migration-run.sh)', () => {
  /** the file once it holds `text` */
  const waitFor = (file: string, text: string) =>
    vi.waitFor(
      () => {
        const content = existsSync(file) ? readFileSync(file, 'utf8') : '';
        if (!content.includes(text)) throw new Error(`${file} does not hold ${text} yet`);
        return content;
      },
      { timeout: 5000, interval: 50 },
    );

  it('runs virsh migrate detached, its output and exit status in a new private log; a failsafe resumes the target', async () => {
    const bin = temp();
    const dir = temp();
    fake(bin, 'virsh', 'case "$*" in *" migrate "*) echo "Migration: [100 %]" ;; *" resume "*) ;; esac');
    const log = join(dir, 'migrate.log');
    const migrate = [
      'virsh',
      '-q',
      '-c',
      'qemu:///system',
      'migrate',
      '--p2p',
      UUID,
      "qemu+ssh://b/system?x='$(reboot)'",
    ];
    const r = run(launchMigrationArgv(log, 1, 'qemu+ssh://b/system', UUID, migrate), bin);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+$/); // the detached process's pid
    const text = await waitFor(log, 'ferry-failsafe-resumed');
    expect(text).toBe('Migration: [100 %]\nferry-exit=0\nferry-failsafe-resumed\n');
    expect(statSync(log).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(bin, 'virsh.args'), 'utf8')).toBe(
      `${migrate.slice(1).join(' ')}\n-q -c qemu+ssh://b/system resume ${UUID}\n`,
    );
  });

  it('reports a failed migrate’s status, resumes nothing, and never writes into a log that is already there', async () => {
    const bin = temp();
    const dir = temp();
    fake(bin, 'virsh', 'echo "error: operation failed" >&2; exit 1');
    const log = join(dir, 'migrate.log');
    const launched = run(launchMigrationArgv(log, 1, 'qemu+ssh://b/system', UUID, ['virsh', 'migrate']), bin);
    expect(launched.code).toBe(0);
    expect(await waitFor(log, 'ferry-exit=')).toBe('error: operation failed\nferry-exit=1\n');
    // the detached run has ended (no failsafe waits behind a failed migrate): whatever it would resume, it would have
    const pid = Number(launched.stdout.trim());
    const ended = () => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
    await vi.waitFor(() => expect(ended(), `the detached run ${pid} has ended`).toBe(true), { timeout: 5000 });
    expect(readFileSync(join(bin, 'virsh.args'), 'utf8')).toBe('migrate\n');
    writeFileSync(join(dir, 'found.log'), 'someone else’s\n');
    expect(run(launchMigrationArgv(join(dir, 'found.log'), 0, 'u', UUID, ['virsh', 'migrate']), bin).code).not.toBe(0);
    expect(readFileSync(join(dir, 'found.log'), 'utf8')).toBe('someone else’s\n');
    // the log's removal takes its private folder with it
    const own = join(dir, 'run');
    spawnSync('mkdir', [own]);
    writeFileSync(join(own, 'log'), 'x');
    expect(run(removeLogArgv(join(own, 'log')), bin).code).toBe(0);
    expect(existsSync(own)).toBe(false);
  });
});

describe('the preflight’s path check (missing-paths.sh)', () => {
  it('prints the paths that do not exist, names with blanks and $() as data', () => {
    const dir = temp();
    writeFileSync(join(dir, 'a b $(x)'), '');
    const r = run(missingPathsArgv([join(dir, 'a b $(x)'), join(dir, 'gone $(y)')]), temp());
    expect(r.stdout).toBe(`${join(dir, 'gone $(y)')}\n`);
  });
});

describe('the scripts and the TypeScript that reads them stay in step', () => {
  it('prints the marks core parses for', () => {
    expect(script('conntrack-gate.sh')).toMatch(new RegExp(`^  echo ${SNAPSHOT_END}$`, 'm'));
    expect(script('conntrack-gate.sh')).toContain(`print "${GATE_PATH_MARK} events"`);
    expect(script('conntrack-gate.sh')).toContain(`print "${GATE_PATH_MARK} relisted-" why`);
    for (const why of ['enobufs', 'reader-ended', 'sentinel-late'])
      expect(script('conntrack-gate.sh')).toContain(`'ferry-events-lost ${why}'`);
    expect(script('conntrack-gate.sh')).toContain(`$0 == "${SNAPSHOT_END}"`);
    expect(script('conntrack-list-digest.sh')).toContain(`print "${LISTED_MARK}"`);
    for (const f of ['conntrack-load.sh', 'conntrack-load-digest.sh'])
      expect(script(f)).toContain(`echo ${LOADED_MARK};`);
    expect(loadAndDigestArgv(['10.0.0.1'], true)).toContain(KERNEL_TABLE);
    expect(script('qemu-probe.sh')).toContain(`dir=\${1:-${LIBVIRT_QEMU_STATUS_DIR}}`);
    for (const f of ['diagnosis-probe.sh', 'qemu-limits.sh']) expect(script(f)).toContain(`:-${LIBVIRT_STATUS_DIR}}`);
  });

  it('keeps the blocks several scripts share identical', () => {
    const listFlows =
      'for a; do set -- "$@" -e "src=$a " -e "dst=$a "; shift; done; list() { conntrack -L -o extended 2>/dev/null | grep -F "$@"; }; ';
    for (const f of readdirSync(SCRIPTS).filter((n) => n.startsWith('conntrack-')))
      expect(script(f), f).toContain(listFlows);
    const v6 = (f: string) => /function v6\(.*?\n}\n/s.exec(script(f))?.[0];
    expect(v6('conntrack-list-digest.sh')).toBeDefined();
    expect(v6('conntrack-load-digest.sh')).toBe(v6('conntrack-list-digest.sh'));
    const pidLookup = (f: string) => /pid=\$\(want=\$uuid awk .*?\nesac\n/s.exec(script(f))?.[0];
    expect(pidLookup('diagnosis-probe.sh')).toBeDefined();
    expect(pidLookup('qemu-limits.sh')).toBe(pidLookup('diagnosis-probe.sh'));
  });
});
