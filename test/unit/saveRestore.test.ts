import { describe, expect, it } from 'vitest';
import { expectedSavePauseMs, parseSaveDirProbe, parseSaveRestore, saveFile, saveRestoreArgv } from '../../src/core/saveRestore';

// the save directory probe as hostA answered it (df -Pk's last line, dd's summary)
const PROBE = `/dev/vda         264212084 25794628  80596284      25% /var/lib/libvirt
67108864 bytes (67 MB, 64 MiB) copied, 0.0540553 s, 1.2 GB/s
`;

describe('save and restore on the same host', () => {
  it('reads free space and write speed, and estimates the pause of writing and reading the memory', () => {
    const facts = parseSaveDirProbe(PROBE);
    expect(facts.availableKiB).toBe(80596284);
    expect(Math.round(facts.writeBytesPerSecond / 1048576)).toBe(1184);
    expect(expectedSavePauseMs(512 * 1024, facts)).toBe(865);
    expect(() => parseSaveDirProbe('df: /var/lib/libvirt/qemu/save: No such file or directory')).toThrow(/cannot read the save directory/);
  });

  it("saves to libvirt's save directory under the domain's UUID only; the host's timings are read back", () => {
    const uuid = '3e27bc43-f8db-4025-b0ea-c5117bba83d2';
    expect(saveFile(uuid)).toBe(`/var/lib/libvirt/qemu/save/ferry-upgrade-${uuid}.save`);
    expect(() => saveFile('../../etc/passwd')).toThrow();
    expect(saveRestoreArgv('qemu:///system', uuid).slice(-3)).toEqual(['qemu:///system', uuid, saveFile(uuid)]);
    expect(parseSaveRestore('save_ms=2289 restore_ms=1311\n')).toEqual({ saveMs: 2289, restoreMs: 1311 });
    expect(parseSaveRestore('saved=yes restored=no\n')).toBeUndefined();
  });
});
