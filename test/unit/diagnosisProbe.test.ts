/**
 * The diagnosis probe (services/diagnosis PROBE) run for real by a local POSIX shell, against processes this test
 * starts that burn CPU and a temporary directory of libvirt-style status XML naming them. No lab, no libvirt: what is
 * checked is the script's own reading of /proc and of the status files.
 * test/fixtures/capture-probe-local.ts does the same once, on its own, to record test/fixtures/probe-local-busy.txt.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnose, parseProbe } from '../../src/core/diagnosis';
import { probeArgv, qemuLimitsArgv } from '../../src/remote/diagnosis';

const run = promisify(execFile);
const QEMU_UUID = '6f0b3c2e-8d41-4e6a-9a57-0c1d2e3f4a5b';
const ODD_UUID = 'a1b2c3d4-0000-4000-8000-0000000000ff';
const NOBODY_UUID = '00000000-1111-4222-8333-444444444444';
const STALE_UUID = '99999999-8888-4777-8666-555555555555';
const shells = ['sh', 'bash'].filter((s) => {
  try {
    execFileSync(s, ['-c', ':']);
    return true;
  } catch {
    return false;
  }
});

/** libvirt's status file as it writes one for a running domain (trimmed: no qemuCaps, no devices) */
const statusXml = (pid: number | string, uuid: string, name: string) => `<!--
WARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE
OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:
  virsh edit ${name}
or other application using the libvirt API.
-->

<domstatus state='running' reason='booted' pid='${pid}'>
  <taint flag='high-privileges'/>
  <monitor path='/var/lib/libvirt/qemu/domain-1-${name}/monitor.sock' type='unix'/>
  <vcpus>
    <vcpu id='0' pid='${Number(pid) + 1}'/>
  </vcpus>
  <domain type='kvm' id='1'>
    <name>${name}</name>
    <uuid>${uuid}</uuid>
    <memory unit='KiB'>262144</memory>
  </domain>
</domstatus>
`;

let dir: string;
const started: ChildProcess[] = [];
let qemu: ChildProcess;
let odd: ChildProcess;
/** says `-uuid <x>` on its command line for every UUID here, as any local user's process could */
let pretender: ChildProcess;

/** a busy loop whose process name (comm) is the symlink's name; its command line says `-uuid <uuid>` like QEMU's */
function burner(name: string, uuid: string): ChildProcess {
  const path = join(dir, name);
  symlinkSync('/bin/sh', path);
  const p = spawn(path, ['-c', 'while :; do :; done', name, '-name', 'guest=x', '-uuid', uuid, '-S'], {
    stdio: 'ignore',
  });
  started.push(p);
  return p;
}

async function probe(shell: string, uuid: string) {
  const [, ...args] = probeArgv(uuid, 'qemu:///system', '', join(dir, 'status'));
  const { stdout } = await run(shell, args, { timeout: 10_000 });
  return stdout;
}

/** the ticks a probe printed for one thread, before and after its one-second sleep */
function ticksOf(out: string, tid: number): number[] {
  const [before, after] = out.split('\nmark=1\n');
  const pick = (part: string) => Number(new RegExp(`^thread=${tid} (\\d+) `, 'm').exec(part)?.[1]);
  return [pick(before), pick(after)];
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-probe-'));
  qemu = burner('qemu-system-x86_64', QEMU_UUID); // comm keeps 15 bytes: qemu-system-x86
  odd = burner('a) b (c)\nx\td', ODD_UUID); // spaces, parentheses, a newline and a tab in comm
  // (it waits in the shell's builtin read: no child process to outlive it)
  pretender = spawn(
    'sh',
    ['-c', 'read -r _', 'qemu', ...[QEMU_UUID, ODD_UUID, NOBODY_UUID, STALE_UUID].flatMap((u) => ['-uuid', u])],
    { stdio: ['pipe', 'ignore', 'ignore'] },
  );
  started.push(pretender);
  mkdirSync(join(dir, 'status'));
  writeFileSync(join(dir, 'status', 'guest.xml'), statusXml(qemu.pid!, QEMU_UUID, 'guest'));
  writeFileSync(join(dir, 'status', 'odd name.xml'), statusXml(odd.pid!, ODD_UUID, 'odd'));
  // decoys, read first, all naming the pretender: UUIDs that only start or end like ours, NOBODY_UUID outside the
  // <domain>, and a pid file where a name-built path would look
  writeFileSync(join(dir, 'status', 'a-longer.xml'), statusXml(pretender.pid!, `${QEMU_UUID}0`, 'longer'));
  writeFileSync(join(dir, 'status', 'b-shorter.xml'), statusXml(pretender.pid!, QEMU_UUID.slice(0, -1), 'shorter'));
  writeFileSync(
    join(dir, 'status', 'c-outside.xml'),
    `<domstatus state='running' reason='booted' pid='${pretender.pid}'>\n  <uuid>${NOBODY_UUID}</uuid>\n  <domain type='kvm' id='3'>\n    <name>c</name>\n    <uuid>${ODD_UUID.replace('ff', 'fe')}</uuid>\n  </domain>\n</domstatus>\n`,
  );
  writeFileSync(join(dir, 'status', 'guest.pid'), String(pretender.pid));
  // a stale status file: its pid is now another domain's QEMU (command line -uuid QEMU_UUID)
  writeFileSync(join(dir, 'status', 'd-stale.xml'), statusXml(qemu.pid!, STALE_UUID, 'stale'));
});

afterAll(() => {
  for (const p of started) p.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(shells)('the diagnosis probe run by %s', { timeout: 20_000 }, (shell) => {
  // each probe takes its one second: run them side by side
  const outs: Record<string, Promise<string>> = {};
  const probed = (uuid: string) => (outs[uuid] ??= probe(shell, uuid));
  beforeAll(() => void [QEMU_UUID, ODD_UUID, QEMU_UUID.toUpperCase()].map((u) => probed(u).catch(() => '')));

  it("finds QEMU by UUID in the status XML and sees its busy thread's ticks rise over the second", async () => {
    const out = await probed(QEMU_UUID);
    expect(out).toMatch(new RegExp(`^pid=${qemu.pid}\nclk=\\d+\n`));
    const [before, after] = ticksOf(out, qemu.pid!);
    expect(before).toBeGreaterThanOrEqual(0);
    expect(after).toBeGreaterThan(before);

    const p = parseProbe(out);
    const clk = Number(/^clk=(\d+)$/m.exec(out)![1]);
    expect(p.pid).toBe(qemu.pid);
    expect(p.threads).toEqual([{ name: 'qemu-system-x86', cpu: (after - before) / clk }]);
    expect(p.threads[0].cpu).toBeGreaterThan(0);
    // the receiving side's rule: QEMU's main thread at 90 % of a core or more (on a loaded machine it may not get there)
    const cpu = p.threads[0].cpu;
    const f = diagnose({ samples: [], target: p, sourceAlias: 'hostA', targetAlias: 'local' });
    expect(f.find((x) => x.id === 'target-cpu')?.evidence).toBe(
      cpu >= 0.9 ? `qemu-system-x86 at ${(cpu * 100).toFixed(0)} % of a core` : undefined,
    );
  });

  it('reads a thread name with spaces, parentheses and control characters whole, and its ticks after the last ")"', async () => {
    const out = await probed(ODD_UUID);
    expect(out).toContain(`\nthread=${odd.pid} `);
    const [before, after] = ticksOf(out, odd.pid!);
    expect(after).toBeGreaterThan(before);
    expect(parseProbe(out).threads).toEqual([{ name: 'a) b (c) x d', cpu: expect.any(Number) }]);
  });

  it('finds nothing for a UUID that only a command line claims, nor through a stale status file', async () => {
    for (const uuid of [NOBODY_UUID, STALE_UUID]) {
      const out = await probe(shell, uuid);
      expect(out).toMatch(/^pid=\nclk=\d+\n$/);
      expect(parseProbe(out)).toMatchObject({ pid: undefined, threads: [] });
    }
  });

  it('gives the preflight the CapEff and memlock of that QEMU, and nothing for a UUID only a command line claims', async () => {
    const limits = async (uuid: string) =>
      (await run(shell, qemuLimitsArgv(uuid, join(dir, 'status')).slice(1), { timeout: 10_000 })).stdout;
    expect(await limits(QEMU_UUID)).toMatch(/^CapEff:\s+[0-9a-f]{16}\nMax locked memory\s+\S+\s+\S+\s+bytes\s*\n$/);
    expect(await limits(NOBODY_UUID)).toBe('');
  });

  it('is given the UUID as libvirt writes it, in lower case', async () => {
    expect(await probed(QEMU_UUID.toUpperCase())).toMatch(new RegExp(`^pid=${qemu.pid}\n`));
  });
});
