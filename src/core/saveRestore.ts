/**
 * Save and restore on the same host: the way onto a new QEMU when no other host can take a domain. The guest is
 * paused for the whole write and read of its memory, so the plan estimates that pause from its memory and the
 * measured write speed of the save directory, and checks free space first. The save file lives in libvirt's own
 * save directory, named by the domain's UUID only.
 */
import type { Argv } from './virsh';
import { assertUuid } from './virsh';

export const SAVE_DIR = '/var/lib/libvirt/qemu/save';
/** the file a domain is saved to while its QEMU is replaced */
export const saveFile = (uuid: string) => (assertUuid(uuid), `${SAVE_DIR}/ferry-upgrade-${uuid}.save`);

/** Free space of the save directory and its write speed (64 MiB written and synced, then removed). */
export function saveDirProbeArgv(): Argv {
  return ['sh', '-c', 'df -Pk "$1" | tail -n 1; f="$1/ferry-speed-$$"; dd if=/dev/zero of="$f" bs=1M count=64 conv=fdatasync 2>&1 | tail -n 1; rm -f "$f"', 'ferry-save-probe', SAVE_DIR];
}

export interface SaveDirFacts {
  availableKiB: number;
  writeBytesPerSecond: number;
}

/** df -Pk's last line ("… 264212084 25794628 80596284 25% /…") and dd's summary ("67108864 bytes … copied, 0.054 s, 1.2 GB/s"). */
export function parseSaveDirProbe(text: string): SaveDirFacts {
  const available = /^\S+\s+\d+\s+\d+\s+(\d+)\s+\d+%/m.exec(text)?.[1];
  const dd = /^(\d+) bytes .* copied, ([\d.]+) s,/m.exec(text);
  if (!available || !dd) throw new Error(`cannot read the save directory's space or speed: ${text.trim().slice(0, 200)}`);
  return { availableKiB: Number(available), writeBytesPerSecond: Number(dd[1]) / Math.max(Number(dd[2]), 1e-6) };
}

/**
 * The guest's pause: its memory written, then read back (reading taken as fast as writing: a cached file reads
 * faster, so this errs long).
 */
export function expectedSavePauseMs(memoryKiB: number, facts: SaveDirFacts): number {
  return Math.round(((2 * memoryKiB * 1024) / facts.writeBytesPerSecond) * 1000);
}

/**
 * Save, then restore, timing each on the host. It ignores a hang-up: if Ferry's SSH link drops half-way the
 * domain is still restored. The file is removed only after a successful restore; a failed one leaves it for
 * `virsh restore`.
 */
export function saveRestoreArgv(uri: string, uuid: string): Argv {
  const script = [
    'trap "" HUP PIPE',
    't0=$(date +%s%N)',
    'virsh -q -c "$1" save "$2" "$3" --running || { echo "saved=no"; exit 3; }',
    't1=$(date +%s%N)',
    'virsh -q -c "$1" restore "$3" || { echo "saved=yes restored=no"; exit 4; }',
    't2=$(date +%s%N)',
    'rm -f -- "$3"',
    'echo "save_ms=$(( (t1 - t0) / 1000000 )) restore_ms=$(( (t2 - t1) / 1000000 ))"',
  ].join('\n');
  return ['sh', '-c', script, 'ferry-save-restore', uri, uuid, saveFile(uuid)];
}

export function parseSaveRestore(text: string): { saveMs: number; restoreMs: number } | undefined {
  const m = /save_ms=(\d+) restore_ms=(\d+)/.exec(text);
  return m ? { saveMs: Number(m[1]), restoreMs: Number(m[2]) } : undefined;
}
