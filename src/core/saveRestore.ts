/**
 * Save and restore on the same host: the way onto a new QEMU when no other host can take a domain. The guest is
 * paused for the whole write and read of its memory, so the plan estimates that pause from its memory and the
 * measured write speed of the save directory, and checks free space first. The save file lives in libvirt's own
 * save directory, named by the domain's UUID only.
 */
import { assertUuid } from './virsh';

export const SAVE_DIR = '/var/lib/libvirt/qemu/save';
/**
 * The private folder one save and restore works in: made by mktemp under the save directory (which libvirt's QEMU
 * user owns), root's alone, so nothing another user put there is followed or overwritten.
 */
export const SAVE_RUN_DIR = /^\/var\/lib\/libvirt\/qemu\/save\/ferry-upgrade\.[A-Za-z0-9]{10}$/;
/** the file a domain is saved to while its QEMU is replaced, in its run's private folder */
export const saveFile = (runDir: string, uuid: string) => (assertUuid(uuid), `${runDir}/${uuid}.save`);
export const saveLog = (runDir: string) => `${runDir}/log`;

export interface SaveDirFacts {
  availableKiB: number;
  writeBytesPerSecond: number;
}

/** df -Pk's last line ("… 264212084 25794628 80596284 25% /…") and dd's summary ("67108864 bytes … copied, 0.054 s, 1.2 GB/s"). */
export function parseSaveDirProbe(text: string): SaveDirFacts {
  const available = /^\S+\s+\d+\s+\d+\s+(\d+)\s+\d+%/m.exec(text)?.[1];
  const dd = /^(\d+) bytes .* copied, ([\d.]+) s,/m.exec(text);
  if (!available || !dd)
    throw new Error(`cannot read the save directory's space or speed: ${text.trim().slice(0, 200)}`);
  return { availableKiB: Number(available), writeBytesPerSecond: Number(dd[1]) / Math.max(Number(dd[2]), 1e-6) };
}

/**
 * The guest's pause: its memory written, then read back (reading taken as fast as writing: a cached file reads
 * faster, so this errs long).
 */
export function expectedSavePauseMs(memoryKiB: number, facts: SaveDirFacts): number {
  return Math.round(((2 * memoryKiB * 1024) / facts.writeBytesPerSecond) * 1000);
}

export type SaveRestoreLog =
  | { done: false; phase: 'starting' | 'saving' | 'restoring' }
  | { done: true; exit: number; saveMs?: number; restoreMs?: number; text: string };

/** The run's log as far as it has come (the virsh errors in it are kept, for the message). */
export function parseSaveRestore(text: string): SaveRestoreLog {
  const exit = /^ferry-exit=(\d+)$/m.exec(text);
  if (!exit)
    return {
      done: false,
      phase: /^phase=restoring/m.test(text) ? 'restoring' : /^phase=saving/m.test(text) ? 'saving' : 'starting',
    };
  const m = /^save_ms=(\d+) restore_ms=(\d+)$/m.exec(text);
  const errors = text
    .split('\n')
    .filter((l) => l.trim() && !/^(phase=|saved=|save_ms=|ferry-exit=)/.test(l))
    .join('\n');
  return {
    done: true,
    exit: Number(exit[1]),
    saveMs: m ? Number(m[1]) : undefined,
    restoreMs: m ? Number(m[2]) : undefined,
    text: errors,
  };
}
