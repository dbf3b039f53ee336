import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeStale, isStale, parseQemuProbe, qemuProbeArgv } from '../../src/core/qemuBinary';

// captured on the lab's hostA: tiny1's QEMU as started, then with a new copy of the emulator bind-mounted over its path
const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', name), 'utf8');
const UUID = '3e27bc43-f8db-4025-b0ea-c5117bba83d2';

describe('which running domains run a replaced QEMU', () => {
  it('a QEMU process running the file at its emulator path is current', () => {
    const state = parseQemuProbe(fixture('qemu-probe-current.txt')).get(UUID)!;
    expect(state).toEqual({
      pid: 27181,
      emulator: '/var/lib/ferry-lab/qemu-bpo/usr/bin/qemu-system-x86_64',
      replaced: false,
      runningVersion: '10.0.2',
      installedVersion: '10.0.2',
      replacedLibraries: [],
    });
    expect(isStale(state)).toBe(false);
    expect(describeStale(state)).toBeUndefined();
  });

  it('a new file at the path (another inode) is a replaced binary, even at the same version', () => {
    const state = parseQemuProbe(fixture('qemu-probe-replaced.txt')).get(UUID)!;
    expect(state.replaced).toBe(true);
    expect(describeStale(state)).toBe('runs a replaced QEMU 10.0.2 binary');
  });

  it('an installed version that differs is named; a deleted file and replaced libraries are stale too', () => {
    const newer = fixture('qemu-probe-replaced.txt').replace(/^installed=QEMU emulator version 10\.0\.2/m, 'installed=QEMU emulator version 10.0.3');
    expect(describeStale(parseQemuProbe(newer).get(UUID)!)).toBe('runs QEMU 10.0.2, 10.0.3 installed');
    const deleted = fixture('qemu-probe-current.txt').replace(/^exe=(.*)$/m, 'exe=$1 (deleted)').replace(/^file_id=.*$/m, 'file_id=');
    expect(parseQemuProbe(deleted).get(UUID)!.replaced).toBe(true);
    const libraries = `${fixture('qemu-probe-current.txt')}deleted=/usr/lib/x86_64-linux-gnu/libssl.so.3\ndeleted=/usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3\n`;
    const state = parseQemuProbe(libraries).get(UUID)!;
    expect(state.replaced).toBe(false);
    expect(describeStale(state)).toBe('maps 2 replaced libraries (libssl.so.3, libgnutls.so.30.34.3)');
  });

  it('the probe takes no data from outside: a fixed script, no arguments', () => {
    expect(qemuProbeArgv().slice(0, 2)).toEqual(['sh', '-c']);
    expect(qemuProbeArgv()).toHaveLength(4);
  });
});
