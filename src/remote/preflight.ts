/** The preflight's own script (scripts/missing-paths.sh). */
import type { Argv } from '../core/virsh';
import MISSING from './scripts/missing-paths.sh';

/** Prints each of the paths that does not exist on the host, one a line. */
export function missingPathsArgv(paths: readonly string[]): Argv {
  return ['sh', '-c', MISSING, 'ferry-check', ...paths];
}
