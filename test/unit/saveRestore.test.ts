import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  expectedSavePauseMs,
  parseSaveDirProbe,
  parseSaveRestore,
  SAVE_DIR,
  SAVE_RUN_DIR,
  saveFile,
} from '../../src/core/saveRestore';
import { launchSaveRestoreArgv, saveDirProbeArgv } from '../../src/remote/saveRestore';
import { killOnHangupArgv } from '../../src/transport/quote';

// the save directory probe as hostA answered it (df -Pk's last line, dd's summary)
const PROBE = `/dev/vda         264212084 25794628  80596284      25% /var/lib/libvirt
67108864 bytes (67 MB, 64 MiB) copied, 0.0540553 s, 1.2 GB/s
`;
const uuid = '3e27bc43-f8db-4025-b0ea-c5117bba83d2';
const temps: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ferry-save-test-'));
  temps.push(d);
  return d;
};
afterEach(() => temps.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Run a host script locally, `dir` in place of libvirt's save directory, a fake virsh first in PATH. */
function runLocally(argv: readonly string[], dir: string, bin: string) {
  const local = argv.map((a) => (a === SAVE_DIR ? dir : a));
  const child = spawn(local[0], local.slice(1), {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, output: () => out, exited };
}

/** `probe`'s value once it has one (vitest's waitFor, which throws what it still waits for when time is up) */
const waitFor = <T>(what: string, probe: () => T | undefined | false): Promise<T> =>
  vi.waitFor(
    () => {
      const v = probe();
      if (!v) throw new Error(`still waiting for ${what}`);
      return v;
    },
    { timeout: 10_000, interval: 20 },
  );

/** the save and restore started as Ferry starts it (outside the hang-up wrapper); its run folder */
async function launched(dir: string, bin: string): Promise<string> {
  const launcher = runLocally(launchSaveRestoreArgv('qemu:///system', uuid), dir, bin);
  await launcher.exited;
  return launcher.output().trim();
}

/** the run's log once it says how it ended */
function runEnded(run: string) {
  return waitFor('the run to end', () => {
    const l = parseSaveRestore(readFileSync(join(run, 'log'), 'utf8'));
    return l.done && l;
  });
}

/** a virsh that records its calls, takes a moment to save (writing the file) and to restore */
function fakeVirsh(restoreFails = false): { bin: string; calls: string } {
  const bin = temp();
  const calls = join(bin, 'calls');
  writeFileSync(
    join(bin, 'virsh'),
    `#!/bin/sh\necho "$4 $5" >> '${calls}'\ncase "$4" in\n  save) sleep 0.4; : > "$6" ;;\n  restore) sleep 0.4; ${restoreFails ? 'echo "error: restore refused" >&2; exit 1' : ':'} ;;\nesac\n`,
  );
  chmodSync(join(bin, 'virsh'), 0o755);
  return { bin, calls };
}

describe('save and restore on the same host', () => {
  it('reads free space and write speed, and estimates the pause of writing and reading the memory', () => {
    const facts = parseSaveDirProbe(PROBE);
    expect(facts.availableKiB).toBe(80596284);
    expect(Math.round(facts.writeBytesPerSecond / 1048576)).toBe(1184);
    expect(expectedSavePauseMs(512 * 1024, facts)).toBe(865);
    expect(() => parseSaveDirProbe('df: /var/lib/libvirt/qemu/save: No such file or directory')).toThrow(
      /cannot read the save directory/,
    );
  });

  it("names the save file by UUID inside the run's private folder, and reads the run's log", () => {
    const run = '/var/lib/libvirt/qemu/save/ferry-upgrade.Ab3dE6gH9k';
    expect(SAVE_RUN_DIR.test(run)).toBe(true);
    for (const bad of [
      '/var/lib/libvirt/qemu/save/ferry-upgrade.x/../../..',
      '/tmp/ferry-upgrade.Ab3dE6gH9k',
      `${run}\n`,
    ])
      expect(SAVE_RUN_DIR.test(bad)).toBe(false);
    expect(saveFile(run, uuid)).toBe(`${run}/${uuid}.save`);
    expect(() => saveFile(run, '../../etc/passwd')).toThrow();
    expect(parseSaveRestore('phase=saving\n')).toEqual({ done: false, phase: 'saving' });
    expect(parseSaveRestore('phase=saving\nphase=restoring save_ms=2289\n')).toEqual({
      done: false,
      phase: 'restoring',
    });
    expect(
      parseSaveRestore('phase=saving\nphase=restoring save_ms=2289\nsave_ms=2289 restore_ms=1311\nferry-exit=0\n'),
    ).toMatchObject({ done: true, exit: 0, saveMs: 2289, restoreMs: 1311 });
    expect(
      parseSaveRestore(
        'phase=saving\nphase=restoring save_ms=9\nerror: restore refused\nsaved=yes restored=no\nferry-exit=4\n',
      ),
    ).toMatchObject({ done: true, exit: 4, text: 'error: restore refused' });
  });

  it('goes on to the restore when the SSH channel that started it closes during the save', async () => {
    const dir = temp();
    const { bin, calls } = fakeVirsh();
    // as Ferry runs it: inside the wrapper that TERMs the command when the channel's input closes
    const launcher = runLocally(killOnHangupArgv(launchSaveRestoreArgv('qemu:///system', uuid)), dir, bin);
    const run = (await waitFor('the run folder', () => launcher.output().trim())).trim();
    expect(run.startsWith(`${dir}/ferry-upgrade.`)).toBe(true);
    expect(lstatSync(run).mode & 0o777).toBe(0o700);
    await waitFor('the save under way', () => existsSync(calls) && readFileSync(calls, 'utf8').includes('save'));
    launcher.child.stdin.end(); // the link drops: the wrapper TERMs what it started
    await launcher.exited;
    const log = await runEnded(run);
    expect(log).toMatchObject({ done: true, exit: 0 });
    expect(readFileSync(calls, 'utf8')).toBe(`save ${uuid}\nrestore ${saveFile(run, uuid)}\n`);
    expect(existsSync(saveFile(run, uuid))).toBe(false);
  });

  it('keeps the save file and says so when the restore fails', async () => {
    const dir = temp();
    const { bin } = fakeVirsh(true);
    const run = await launched(dir, bin);
    const log = await runEnded(run);
    expect(log).toMatchObject({ done: true, exit: 4, text: 'error: restore refused' });
    expect(existsSync(saveFile(run, uuid))).toBe(true);
  });

  it('times the save and restore with a date that has no nanoseconds (busybox), in whole seconds', async () => {
    const dir = temp();
    const { bin } = fakeVirsh();
    writeFileSync(
      join(bin, 'date'),
      '#!/bin/sh\ncase "$1" in +%s%N) echo "$(/bin/date +%s)%N" ;; *) exec /bin/date "$@" ;; esac\n',
    );
    chmodSync(join(bin, 'date'), 0o755);
    const run = await launched(dir, bin);
    const log = await runEnded(run);
    expect(log).toMatchObject({ done: true, exit: 0 });
    if (!log.done) throw new Error('not done');
    expect(log.saveMs! % 1000).toBe(0);
    expect(log.restoreMs! % 1000).toBe(0);
  });

  it('probes the write speed in a folder of its own, following no link another user left', async () => {
    const dir = temp();
    const victim = join(temp(), 'root-only');
    writeFileSync(victim, 'keep me');
    // the names an older probe wrote to, planted as links
    for (let pid = 1; pid < 50; pid++) symlinkSync(victim, join(dir, `ferry-speed-${pid}`));
    const probe = runLocally(saveDirProbeArgv(), dir, temp());
    expect(await probe.exited).toBe(0);
    expect(parseSaveDirProbe(probe.output()).writeBytesPerSecond).toBeGreaterThan(0);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(readdirSync(dir).filter((f) => !f.startsWith('ferry-speed-')).length).toBe(0); // its own folder is gone
  });
});
