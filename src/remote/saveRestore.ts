/** Save and restore on the same host (scripts/save-*.sh); the plan and the parsers are core/saveRestore. */
import { SAVE_DIR } from '../core/saveRestore';
import type { Argv } from '../core/virsh';
import { assertUuid } from '../core/virsh';
import PROBE from './scripts/save-dir-probe.sh';
import LAUNCH from './scripts/save-restore-launch.sh';
import RUN from './scripts/save-restore-run.sh';

/**
 * Free space of the save directory and its write speed: 64 MiB written and synced to a new file in a folder of its
 * own (mktemp; dd creates it exclusively and follows no link), then removed. dd's summary in the C locale.
 */
export function saveDirProbeArgv(): Argv {
  return ['sh', '-c', PROBE, 'ferry-save-probe', SAVE_DIR];
}

/**
 * Start a save, then a restore, on the host, detached from Ferry's SSH session (its own session, no input, its output
 * in a private log): a link that drops, a timeout or a closed editor cannot stop it between the two, where the
 * domain would be left off with its memory in the file. Prints the run's private folder; its log ends with
 * `ferry-exit=N` (parseSaveRestore). The file is removed only after a successful restore; a failed one leaves it
 * for `virsh restore`. Times are ms since the epoch; a date without %N (busybox) gives whole seconds.
 */
export function launchSaveRestoreArgv(uri: string, uuid: string): Argv {
  assertUuid(uuid);
  return ['sh', '-c', LAUNCH, 'ferry-save-restore', SAVE_DIR, RUN, uri, uuid];
}
