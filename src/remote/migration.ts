/** The migration's own scripts on its source host (scripts/migration-*.sh); the virsh argv is core/migration/job. */
import type { Argv } from '../core/virsh';
import LAUNCH from './scripts/migration-launch.sh';
import REMOVE_LOG from './scripts/migration-log-remove.sh';
import RUN from './scripts/migration-run.sh';

/**
 * Start `migrate` (a virsh argv) detached from the SSH session (setsid, no stdin), its output in `logPath`, which must
 * be a new file (set -C: noclobber, never one found in its place); prints the detached process's pid. The log ends
 * with `ferry-exit=N`. With a gate the domain waits paused on the target: if Ferry is gone by then, the source itself
 * resumes it `failsafeS` seconds after a successful migrate (0: never) and logs ferry-failsafe-resumed.
 */
export function launchMigrationArgv(
  logPath: string,
  failsafeS: number,
  targetUri: string,
  uuid: string,
  migrate: Argv,
): Argv {
  return ['sh', '-c', LAUNCH, 'ferry', logPath, RUN, String(failsafeS), targetUri, uuid, ...migrate];
}

/** Remove a finished migration's log and its private folder (empty by then). */
export function removeLogArgv(logPath: string): Argv {
  return ['sh', '-c', REMOVE_LOG, 'ferry-clean', logPath];
}
