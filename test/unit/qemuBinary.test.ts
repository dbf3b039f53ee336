import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { QemuBinaryState } from '../../src/core/qemuBinary';
import { describeStale, isStale, LIBVIRT_QEMU_STATUS_DIR, parseQemuProbe } from '../../src/core/qemuBinary';
import { qemuProbeArgv } from '../../src/remote/qemuProbe';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', name), 'utf8');

// Captured by running the probe (dash) on a development machine against a status directory laid out as libvirt 9.0
// writes it (qemu-probe-status.txt), for a fake QEMU: a copy of dash with QEMU's version string appended, started
// with `-uuid`; then with a new copy renamed over its path (as dpkg replaces a file).
describe('reading the probe', () => {
  const UUID = '3e27bc43-f8db-4025-b0ea-c5117bba83d2';

  it('a QEMU process running the file at its emulator path is current', () => {
    const state = parseQemuProbe(fixture('qemu-probe-current.txt')).get(UUID)!;
    expect(state).toEqual({
      pid: 27501,
      emulator: '/tmp/ferry-qemu-probe-capture/usr/bin/qemu-system-x86_64',
      binary: '/tmp/ferry-qemu-probe-capture/usr/bin/qemu-system-x86_64',
      replaced: false,
      runningVersion: '10.0.2',
      installedVersion: '10.0.2',
      replacedLibraries: [],
    });
    expect(isStale(state)).toBe(false);
    expect(describeStale(state)).toBeUndefined();
  });

  it('a new file renamed over the path: replaced, and the installed version is named', () => {
    const state = parseQemuProbe(fixture('qemu-probe-replaced.txt')).get(UUID)!;
    expect(state).toMatchObject({
      replaced: true,
      runningVersion: '10.0.2',
      installedVersion: '10.0.3',
      replacedLibraries: [],
    });
    expect(describeStale(state)).toBe('runs QEMU 10.0.2, 10.0.3 installed');
    const sameVersion = fixture('qemu-probe-replaced.txt').replace(/^installed 10\.0\.3$/m, 'installed 10.0.2');
    expect(describeStale(parseQemuProbe(sameVersion).get(UUID)!)).toBe('runs a replaced QEMU 10.0.2 binary');
  });

  it("a wrapper script as emulator: what it exec'd is judged", () => {
    const state = parseQemuProbe(fixture('qemu-probe-wrapper.txt')).get(UUID)!;
    expect(state).toMatchObject({
      emulator: '/tmp/ferry-qemu-probe-capture/qemu-system-x86_64',
      binary: '/tmp/ferry-qemu-probe-capture/usr/bin/qemu-system-x86_64',
      replaced: false,
      runningVersion: '10.0.2',
    });
    // the same, not a wrapper: the emulator is another file than the one running
    expect(
      parseQemuProbe(fixture('qemu-probe-wrapper.txt').replace('wrapper yes', 'wrapper no')).get(UUID)!.replaced,
    ).toBe(true);
  });

  it('no links left to the running file, another file at its path, or none at all: replaced', () => {
    const current = fixture('qemu-probe-current.txt');
    expect(parseQemuProbe(current.replace(/^exe (\S+) 1$/m, 'exe $1 0')).get(UUID)!.replaced).toBe(true);
    expect(parseQemuProbe(current.replace(/^binary_file .*$/m, 'binary_file 65024:1')).get(UUID)!.replaced).toBe(true);
    expect(parseQemuProbe(current.replace(/^emulator_file .*$/m, 'emulator_file -')).get(UUID)!.replaced).toBe(true);
  });

  it('replaced libraries are stale too, named by file', () => {
    const libraries = `${fixture('qemu-probe-current.txt')}library ${hex('/usr/lib/x86_64-linux-gnu/libssl.so.3')}\nlibrary ${hex('/usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3')}\n`;
    const state = parseQemuProbe(libraries).get(UUID)!;
    expect(state.replaced).toBe(false);
    expect(describeStale(state)).toBe('maps 2 replaced libraries (libssl.so.3, libgnutls.so.30.34.3)');
  });

  it('a UUID twice, or a process claimed by two domains: unknown for each, never stale', () => {
    const one = fixture('qemu-probe-current.txt');
    const other = one.split('\n').slice(1).join('\n').replace(UUID, '00000000-0000-4000-8000-000000000001');
    const samePid = parseQemuProbe(`${one}${other}`);
    expect(samePid.get(UUID)!.unknown).toBe('process 27501 is claimed by another domain too');
    expect(samePid.get('00000000-0000-4000-8000-000000000001')!.unknown).toBe(
      'process 27501 is claimed by another domain too',
    );
    const twice = parseQemuProbe(`${one}${one.split('\n').slice(1).join('\n').replace('pid 27501', 'pid 27502')}`).get(
      UUID,
    )!;
    expect(twice.unknown).toBe("two of libvirt's status files name this UUID");
    for (const s of [...samePid.values(), twice]) {
      expect(isStale(s)).toBe(false);
      expect(describeStale(s)).toBeUndefined();
    }
  });

  it('what the probe could not tell is unknown, with why; an answer in another form is an error', () => {
    const out = (lines: string[]) =>
      parseQemuProbe(['ferry-qemu-probe 1', `domain ${UUID}`, ...lines, ''].join('\n')).get(UUID)!;
    expect(out(['unknown pid']).unknown).toBe("libvirt's status file gives no QEMU process id");
    expect(out(['pid 42', 'unknown process']).unknown).toBe(
      "process 42 is gone, or is not the domain's QEMU (no -uuid with its UUID)",
    );
    expect(out(['pid 42', 'unknown emulator']).unknown).toBe("libvirt's status file gives no emulator path");
    expect(out(['pid 42', 'unknown exe']).unknown).toBe('the file process 42 runs cannot be read (/proc/42/exe)');
    expect(out(['pid 42', `emulator ${hex('/usr/bin/qemu')}`]).unknown).toBe(
      "the probe's answer for process 42 is incomplete",
    );
    const noHex = fixture('qemu-probe-current.txt').replace(/^emulator .*$/m, 'emulator /usr/bin/qemu');
    expect(parseQemuProbe(noHex).get(UUID)!.unknown).toBe("the probe's answer for process 27501 is incomplete");
    expect(() => parseQemuProbe('@@ 3e27bc43-f8db-4025-b0ea-c5117bba83d2\npid=1\n')).toThrow(
      /unexpected QEMU probe output/,
    );
  });

  it('the probe takes no data from outside on a host, and runs nothing by name: no --version, no variable as a command', () => {
    const argv = qemuProbeArgv();
    expect(argv).toHaveLength(4);
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(qemuProbeArgv('/tmp/x')).toEqual([...argv, '/tmp/x']);
    expect(argv[2]).not.toMatch(/--version/);
    // no command word is a variable or substitution ("$emu" --version was how the old probe ran what it found)
    expect(argv[2]).not.toMatch(/(^\s*|[;&|({]\s*|\$\(\s*|\bthen\s+|\bdo\s+|\belse\s+)"?\$\{?[A-Za-z_(]/m);
    expect(argv[2]).toContain(LIBVIRT_QEMU_STATUS_DIR);
  });
});

// ---- the real script, run with sh (dash) on this machine: fake QEMU processes, a hand-made status directory ----

const isRoot = process.getuid?.() === 0;
const STATUS = fixture('qemu-probe-status.txt');
const VICTIM = '6f1b7a52-0d3c-4c1e-9a55-0000000000aa';
const TENANT = '6f1b7a52-0d3c-4c1e-9a55-0000000000bb';
let tmp: string;
let statusDir: string;
const children: ChildProcess[] = [];

function hex(s: string): string {
  return Buffer.from(s).toString('hex');
}
const xmlText = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

/** A fake QEMU binary: dash, with QEMU's compile-time version string in it (an ELF runs with bytes appended). */
function fakeQemu(path: string, version: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  copyFileSync('/bin/dash', `${path}.new`);
  appendFileSync(
    `${path}.new`,
    `\nQEMU emulator version ${version} (Debian 1:${version}+ds-2)\nCopyright (c) 2003-2025 Fabrice Bellard\n`,
  );
  chmodSync(`${path}.new`, 0o755);
  renameSync(`${path}.new`, path); // as dpkg does: a new inode at the path
  return path;
}

/** A shell script that leaves a marker file whenever it is run (with --version only, when `onlyVersion`), then execs `then`. */
function markerScript(path: string, marker: string, then?: string, onlyVersion = false): string {
  mkdirSync(join(path, '..'), { recursive: true });
  const mark = `touch '${marker}'`;
  writeFileSync(
    path,
    `#!/bin/sh\n${onlyVersion ? `[ "$1" = --version ] && ${mark}` : mark}\n${then ? `exec '${then}' "$@"` : 'exit 0'}\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** Start `file` the way libvirt starts QEMU (`-name guest=…`, `-uuid …`); it waits on stdin until killed. */
async function startQemu(
  file: string,
  uuid: string,
  options: {
    name?: string;
    runs?: string;
    argv0?: string;
    uid?: number;
    env?: NodeJS.ProcessEnv;
    more?: string[];
  } = {},
): Promise<number> {
  const args = [
    '-c',
    'read x',
    'qemu',
    '-name',
    `guest=${options.name ?? 'tiny1'},debug-threads=on`,
    '-S',
    '-uuid',
    uuid,
    ...(options.more ?? []),
    '-no-user-config',
  ];
  const child = spawn(file, args, {
    argv0: options.argv0 ?? file,
    stdio: ['pipe', 'ignore', 'ignore'],
    uid: options.uid,
    gid: options.uid,
    env: options.env ?? {},
  });
  children.push(child);
  const runs = options.runs ?? file;
  const end = Date.now() + 5000;
  for (;;) {
    try {
      if (readlinkSync(`/proc/${child.pid}/exe`) === runs) return child.pid!;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`${file} did not start`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** libvirt's status file for a running domain, as libvirt 9.0 writes it (names and paths escaped, newlines raw). */
function statusFile(
  file: string,
  d: { pid: number; uuid: string; name?: string; emulator: string; metadata?: string },
): void {
  const text = STATUS.replaceAll('@PID@', String(d.pid))
    .replaceAll('@UUID@', d.uuid)
    .replace('@NAME@', xmlText(d.name ?? 'tiny1'))
    .replace('@EMULATOR@', xmlText(d.emulator))
    .replace('@METADATA@', d.metadata ?? '');
  writeFileSync(join(statusDir, file), text, { mode: 0o600 });
}

function probe(dir = statusDir): { code: number | null; stdout: string; stderr: string } {
  const argv = qemuProbeArgv(dir);
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function probed(dir = statusDir): Map<string, QemuBinaryState> {
  const r = probe(dir);
  expect(r.code, r.stderr).toBe(0);
  return parseQemuProbe(r.stdout);
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ferry-qemu-probe-'));
  chmodSync(tmp, 0o755);
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  if (statusDir) rmSync(statusDir, { recursive: true, force: true });
});
afterAll(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});
let run = 0;
const fresh = () => {
  const dir = join(tmp, `t${++run}`);
  statusDir = join(dir, 'run-libvirt-qemu');
  mkdirSync(statusDir, { recursive: true, mode: 0o700 });
  return dir;
};

// forks are slow on some machines (~20 ms each in a sandboxed VM): the probe forks some twenty times per domain
describe('the probe script, run with sh on this machine', { timeout: 60_000 }, () => {
  it('judges each running domain by its status file, and runs nothing it names', async () => {
    const dir = fresh();
    const marker = join(dir, 'something-ran');
    // current: the process runs the file at the emulator path
    const current = fakeQemu(join(dir, 'current', 'qemu-system-x86_64'), '10.0.2');
    const currentPid = await startQemu(current, VICTIM);
    statusFile('current.xml', { pid: currentPid, uuid: VICTIM, emulator: current });
    // replaced: a new version renamed over the path after start
    const old = fakeQemu(join(dir, 'old', 'qemu-system-x86_64'), '10.0.2');
    const oldPid = await startQemu(old, TENANT);
    fakeQemu(old, '10.0.3');
    statusFile('old.xml', { pid: oldPid, uuid: TENANT, emulator: old });
    // a wrapper script (which would leave a marker if run with --version) exec'ing the binary, as Debian's qemu-system-i386
    const wrappedUuid = '6f1b7a52-0d3c-4c1e-9a55-0000000000cc';
    const wrapped = fakeQemu(join(dir, 'libexec', 'qemu-system-i386'), '10.0.2');
    const wrapper = markerScript(join(dir, 'bin', 'qemu-system-i386'), marker, wrapped, true);
    const wrappedPid = await startQemu(wrapper, wrappedUuid, { runs: wrapped });
    statusFile('wrapped.xml', { pid: wrappedPid, uuid: wrappedUuid, emulator: wrapper });
    // an emulator that leaves a marker whenever run: the process runs another file, so it would be a wrapper
    const markedUuid = '6f1b7a52-0d3c-4c1e-9a55-0000000000dd';
    const markedPid = await startQemu(fakeQemu(join(dir, 'marked', 'qemu'), '10.0.2'), markedUuid);
    statusFile('marked.xml', {
      pid: markedPid,
      uuid: markedUuid,
      emulator: markerScript(join(dir, 'marked', 'emulator'), marker),
    });

    const states = probed();
    expect(states.get(VICTIM)).toEqual({
      pid: currentPid,
      emulator: current,
      binary: current,
      replaced: false,
      runningVersion: '10.0.2',
      installedVersion: '10.0.2',
      replacedLibraries: [],
    });
    // its own mapping of the deleted binary is no replaced library
    expect(states.get(TENANT)).toEqual({
      pid: oldPid,
      emulator: old,
      binary: old,
      replaced: true,
      runningVersion: '10.0.2',
      installedVersion: '10.0.3',
      replacedLibraries: [],
    });
    expect(describeStale(states.get(TENANT)!)).toBe('runs QEMU 10.0.2, 10.0.3 installed');
    expect(states.get(wrappedUuid)).toEqual({
      pid: wrappedPid,
      emulator: wrapper,
      binary: wrapped,
      replaced: false,
      runningVersion: '10.0.2',
      installedVersion: '10.0.2',
      replacedLibraries: [],
    });
    expect(states.get(markedUuid)).toMatchObject({ pid: markedPid, replaced: false });
    // the wrapped binary replaced: seen through the wrapper
    fakeQemu(wrapped, '10.0.3');
    expect(describeStale(probed().get(wrappedUuid)!)).toBe('runs QEMU 10.0.2, 10.0.3 installed');
    expect(existsSync(marker)).toBe(false);
  });

  it(
    'a process as nobody posing as QEMU, with the -uuid of a running domain, is never run nor credited',
    { skip: !isRoot },
    async () => {
      const dir = fresh();
      const marker = join(dir, 'evil-ran');
      // what `exec -a …/qemu-system-x86_64 sh -c … -uuid <victim>` leaves in /proc: argv[0] a script of nobody's
      const evil = markerScript(join(dir, 'evil', 'qemu-system-x86_64'), marker);
      chownSync(evil, 65534, 65534);
      const victim = fakeQemu(join(dir, 'usr', 'bin', 'qemu-system-x86_64'), '10.0.2');
      const victimPid = await startQemu(victim, VICTIM);
      fakeQemu(victim, '10.0.3');
      statusFile('victim.xml', { pid: victimPid, uuid: VICTIM, emulator: victim });
      const evilPid = await startQemu('/bin/dash', VICTIM, {
        argv0: evil,
        uid: 65534,
        runs: realpathSync('/bin/dash'),
      });
      expect(readFileSync(`/proc/${evilPid}/cmdline`, 'utf8').split('\0')[0]).toBe(evil);

      const states = probed();
      expect(existsSync(marker)).toBe(false);
      expect([...states.keys()]).toEqual([VICTIM]);
      expect(states.get(VICTIM)).toMatchObject({ pid: victimPid, replaced: true });
      expect(describeStale(states.get(VICTIM)!)).toBe('runs QEMU 10.0.2, 10.0.3 installed');
    },
  );

  it('a domain named "x\\n-uuid\\n<victim uuid>" does not move the victim\'s stale flag', async () => {
    const dir = fresh();
    const emulator = join(dir, 'usr', 'bin', 'qemu-system-x86_64');
    // the victim's QEMU started, then QEMU upgraded; the tenant's started after: the victim is stale, the tenant not
    fakeQemu(emulator, '10.0.2');
    const victimPid = await startQemu(emulator, VICTIM, { name: 'victim' });
    fakeQemu(emulator, '10.0.3');
    const hostile = `x\n-uuid\n${VICTIM}\n`;
    const tenantPid = await startQemu(emulator, TENANT, { name: hostile });
    expect(readFileSync(`/proc/${tenantPid}/cmdline`, 'utf8')).toContain(`\n-uuid\n${VICTIM}\n`);
    statusFile('victim.xml', { pid: victimPid, uuid: VICTIM, name: 'victim', emulator });
    statusFile(`${hostile}.xml`, { pid: tenantPid, uuid: TENANT, name: hostile, emulator });

    const states = probed();
    expect(states.get(VICTIM)).toMatchObject({
      pid: victimPid,
      replaced: true,
      runningVersion: '10.0.2',
      installedVersion: '10.0.3',
    });
    expect(states.get(TENANT)).toMatchObject({
      pid: tenantPid,
      replaced: false,
      runningVersion: '10.0.3',
      installedVersion: '10.0.3',
    });
    expect([...states.keys()].sort()).toEqual([VICTIM, TENANT].sort());
  });

  it("metadata that fakes the status file's lines moves neither the pid, the uuid nor the emulator", async () => {
    const dir = fresh();
    const marker = join(dir, 'fake-emulator-ran');
    const emulator = fakeQemu(join(dir, 'usr', 'bin', 'qemu-system-x86_64'), '10.0.2');
    const pid = await startQemu(emulator, TENANT);
    const fake = markerScript(join(dir, 'fake-emulator'), marker);
    // libvirt dumps <metadata> raw: a comment in it can hold any line but "--"
    const lines = [
      `<domstatus state='running' reason='booted' pid='1'>`,
      `  <domain type='kvm' id='1'>`,
      `    <name>victim</name>`,
      `    <uuid>${VICTIM}</uuid>`,
      `    <devices>`,
      `      <emulator>${fake}</emulator>`,
      `    </devices>`,
    ];
    const metadata = `    <metadata>\n      <app:x xmlns:app="urn:x"><!--\n${lines.join('\n')}\n--></app:x>\n    </metadata>\n`;
    statusFile('tenant.xml', { pid, uuid: TENANT, emulator, metadata });
    const states = probed();
    expect([...states.keys()]).toEqual([TENANT]);
    expect(states.get(TENANT)).toMatchObject({ pid, emulator, replaced: false });
    expect(existsSync(marker)).toBe(false);
  });

  it('hostile paths arrive byte-exact; an emulator path with a newline is unknown', async () => {
    const dir = fresh();
    const weird = join(dir, `q 'a' "b" &c <d> $(touch ${join(dir, 'pwned')}) \`x\` é`, 'qemu-system-x86_64');
    const emulator = fakeQemu(weird, '10.0.2');
    const pid = await startQemu(emulator, TENANT);
    statusFile('weird.xml', { pid, uuid: TENANT, emulator });
    const newline = fakeQemu(join(dir, 'nl\ndir', 'qemu'), '10.0.2');
    const newlinePid = await startQemu(newline, VICTIM);
    statusFile('newline.xml', { pid: newlinePid, uuid: VICTIM, emulator: newline });
    const states = probed();
    expect(states.get(TENANT)).toMatchObject({
      pid,
      emulator,
      binary: emulator,
      replaced: false,
      runningVersion: '10.0.2',
    });
    expect(states.get(VICTIM)!.unknown).toBe("libvirt's status file gives no emulator path");
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  it("a pid that is not the domain's QEMU, and two status files naming one pid, are unknown", async () => {
    const dir = fresh();
    const emulator = fakeQemu(join(dir, 'qemu'), '10.0.2');
    const other = '6f1b7a52-0d3c-4c1e-9a55-0000000000ee';
    const pid = await startQemu(emulator, other);
    statusFile('other.xml', { pid, uuid: VICTIM, emulator }); // its QEMU carries another -uuid (a pid reused)
    statusFile('gone.xml', { pid: 4194304, uuid: TENANT, emulator }); // above any pid_max
    let states = probed();
    expect(states.get(VICTIM)!.unknown).toBe(
      `process ${pid} is gone, or is not the domain's QEMU (no -uuid with its UUID)`,
    );
    expect(states.get(TENANT)!.unknown).toMatch(/^process 4194304 is gone/);
    rmSync(join(statusDir, 'other.xml'));
    rmSync(join(statusDir, 'gone.xml'));
    // a process that carries two -uuid pairs, claimed by two status files: each passes the command line check
    const twin = '6f1b7a52-0d3c-4c1e-9a55-0000000000ff';
    const twoPid = await startQemu(emulator, twin, { more: ['-uuid', VICTIM] });
    statusFile('a.xml', { pid: twoPid, uuid: twin, emulator });
    statusFile('b.xml', { pid: twoPid, uuid: VICTIM, emulator });
    // two status files for one UUID, each with a process of its own
    statusFile('c.xml', { pid, uuid: other, emulator });
    statusFile('d.xml', { pid: await startQemu(emulator, other), uuid: other, emulator });
    states = probed();
    expect(states.get(twin)!.unknown).toBe(`process ${twoPid} is claimed by another domain too`);
    expect(states.get(VICTIM)!.unknown).toBe(`process ${twoPid} is claimed by another domain too`);
    expect(states.get(other)!.unknown).toBe("two of libvirt's status files name this UUID");
    expect([...states.values()].filter(isStale)).toEqual([]);
  });

  it('replaced shared libraries are named; a missing status directory is an error', async () => {
    const dir = fresh();
    const emulator = fakeQemu(join(dir, 'qemu'), '10.0.2');
    const lib = join(dir, 'lib', 'libferry-test.so.1');
    mkdirSync(join(dir, 'lib'));
    copyFileSync(findLibm(), lib);
    const pid = await startQemu(emulator, TENANT, { env: { LD_PRELOAD: lib } });
    // exe changes at exec, before ld.so has mapped what it preloads
    for (const end = Date.now() + 5000; !readFileSync(`/proc/${pid}/maps`, 'utf8').includes(lib);) {
      if (Date.now() > end) throw new Error(`${lib} was never mapped`);
      await new Promise((r) => setTimeout(r, 10));
    }
    rmSync(lib);
    statusFile('lib.xml', { pid, uuid: TENANT, emulator });
    const state = probed().get(TENANT)!;
    expect(state).toMatchObject({ replaced: false, replacedLibraries: [lib] });
    expect(describeStale(state)).toBe('maps 1 replaced library (libferry-test.so.1)');
    const missing = probe(join(dir, 'no-such-dir'));
    expect(missing).toMatchObject({
      code: 3,
      stdout: '',
      stderr: 'ferry-qemu-probe: no libvirt QEMU status directory\n',
    });
    expect(probe(join(dir, 'lib'))).toMatchObject({ code: 0, stdout: 'ferry-qemu-probe 1\n' });
  });
});

function findLibm(): string {
  const maps = readFileSync('/proc/self/maps', 'utf8');
  const libm = /\s(\/\S+\/libm\.so\.6)$/m.exec(maps)?.[1];
  return libm ?? '/lib/x86_64-linux-gnu/libm.so.6';
}
