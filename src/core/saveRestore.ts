/**
 * Save and restore on the same host: the way onto a new QEMU when no other host can take a domain. The guest is
 * paused for the whole write and read of its memory, so the plan estimates that pause from its memory and the
 * measured write speed of the save directory, and checks free space first. The save file lives in libvirt's own
 * save directory, named by the domain's UUID only.
 */
import type { Argv } from './virsh';
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

/**
 * Free space of the save directory and its write speed: 64 MiB written and synced to a new file in a folder of its
 * own (mktemp; dd creates it exclusively and follows no link), then removed.
 */
export function saveDirProbeArgv(): Argv {
  const script =
    // dd's summary in the C locale ("copied, 0.05 s"), whatever language the host speaks
    'export LC_ALL=C; df -Pk "$1" | tail -n 1; d=$(mktemp -d "$1/ferry-speed.XXXXXXXXXX") || exit 1; ' +
    'dd if=/dev/zero of="$d/probe" bs=1M count=64 conv=fdatasync,excl oflag=nofollow 2>&1 | tail -n 1; rm -rf -- "$d"';
  return ['sh', '-c', script, 'ferry-save-probe', SAVE_DIR];
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
 * Start a save, then a restore, on the host, detached from Ferry's SSH session (its own session, no input, its output
 * in a private log): a link that drops, a timeout or a closed editor cannot stop it between the two, where the
 * domain would be left off with its memory in the file. Prints the run's private folder; its log ends with
 * `ferry-exit=N` (parseSaveRestore). The file is removed only after a successful restore; a failed one leaves it
 * for `virsh restore`.
 */
export function launchSaveRestoreArgv(uri: string, uuid: string): Argv {
  assertUuid(uuid);
  const run = [
    'trap "" HUP PIPE',
    // ms since the epoch; a date without %N (busybox) gives whole seconds rather than breaking the arithmetic
    'ms() { t=$(date +%s%N); case $t in *[!0-9]*) echo $(( $(date +%s) * 1000 )) ;; *) echo $(( t / 1000000 )) ;; esac; }',
    't0=$(ms)',
    'echo "phase=saving"',
    'virsh -q -c "$1" save "$2" "$3" --running || { echo "saved=no"; echo "ferry-exit=3"; exit 3; }',
    't1=$(ms)',
    'echo "phase=restoring save_ms=$(( t1 - t0 ))"',
    'virsh -q -c "$1" restore "$3" || { echo "saved=yes restored=no"; echo "ferry-exit=4"; exit 4; }',
    't2=$(ms)',
    'rm -f -- "$3"',
    'echo "save_ms=$(( t1 - t0 )) restore_ms=$(( t2 - t1 ))"',
    'echo "ferry-exit=0"',
  ].join('\n');
  const launch =
    'umask 077; dir=$(mktemp -d "$1/ferry-upgrade.XXXXXXXXXX") || exit 1; run=$2; uri=$3; uuid=$4; ' +
    'setsid sh -c "$run" ferry-save-restore "$uri" "$uuid" "$dir/$uuid.save" >"$dir/log" 2>&1 </dev/null & echo "$dir"';
  return ['sh', '-c', launch, 'ferry-save-restore', SAVE_DIR, run, uri, uuid];
}

export type SaveRestoreLog =
  | { done: false; phase: 'starting' | 'saving' | 'restoring' }
  | { done: true; exit: number; saveMs?: number; restoreMs?: number; text: string };

/** The run's log as far as it has come (the virsh errors in it are kept, for the message). */
export function parseSaveRestore(text: string): SaveRestoreLog {
  const exit = /^ferry-exit=(\d+)$/m.exec(text);
  if (!exit) return { done: false, phase: /^phase=restoring/m.test(text) ? 'restoring' : /^phase=saving/m.test(text) ? 'saving' : 'starting' };
  const m = /^save_ms=(\d+) restore_ms=(\d+)$/m.exec(text);
  const errors = text.split('\n').filter((l) => l.trim() && !/^(phase=|saved=|save_ms=|ferry-exit=)/.test(l)).join('\n');
  return { done: true, exit: Number(exit[1]), saveMs: m ? Number(m[1]) : undefined, restoreMs: m ? Number(m[2]) : undefined, text: errors };
}
