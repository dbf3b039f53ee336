/** The in-place upgrade's programs on the host (scripts/inplace-*.sh); the model and parsers are core/inPlace. */
import type { InPlacePostcopy } from '../core/inPlace';
import { INPLACE_MAX_DOWNTIME_MS, INPLACE_RUN_DIR } from '../core/inPlace';
import type { Argv } from '../core/virsh';
import { assertUuid } from '../core/virsh';
import LAUNCH from './scripts/inplace-launch.sh';
import PROBE from './scripts/inplace-probe.sh';
import RUN from './scripts/inplace-run.sh';
import SHADOW from './scripts/inplace-shadow.sh';

/** key=value facts of the host and of the domain's QEMU process (core/inPlace parseInPlaceProbe). */
export function inPlaceProbeArgv(uuid: string): Argv {
  assertUuid(uuid);
  return ['sh', '-c', PROBE, 'ferry-inplace-probe', uuid];
}

/**
 * Start the run detached from the SSH session (its own session, no input, its output in a private log), so that a
 * dropped link, a timeout or a closed editor cannot stop it between the two hops. Prints the run's private folder
 * (INPLACE_RUN_DIR). `extra` are more virsh migrate options for both hops (core/migration/job's, validated there).
 */
export function launchInPlaceArgv(uuid: string, postcopy: InPlacePostcopy, extra: readonly string[] = []): Argv {
  assertUuid(uuid);
  return ['sh', '-c', LAUNCH, 'ferry-inplace', RUN, uuid, SHADOW, postcopy, String(INPLACE_MAX_DOWNTIME_MS), ...extra];
}

/** Remove a finished run's folder (its logs): only a folder the launch made. */
export function removeRunArgv(runDir: string): Argv {
  if (!INPLACE_RUN_DIR.test(runDir)) throw new Error(`not an in-place run folder: ${runDir}`);
  return ['rm', '-rf', '--', runDir];
}
