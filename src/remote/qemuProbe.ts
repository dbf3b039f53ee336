/** Which running domains run a replaced QEMU (scripts/qemu-probe.sh); the model and parser are core/qemuBinary. */
import type { Argv } from '../core/virsh';
import { assertUuid } from '../core/virsh';
import PROBE from './scripts/qemu-probe.sh';
import QEMU_OF_UUID from './scripts/qemu-of-uuid.sh';

/**
 * One read of every running QEMU domain on a host (root: libvirt's status files and other users' /proc entries).
 * `statusDir` is for tests only; on a host the daemon's own directory (LIBVIRT_QEMU_STATUS_DIR) is read.
 */
export function qemuProbeArgv(statusDir?: string): Argv {
  return statusDir === undefined
    ? ['sh', '-c', PROBE, 'ferry-qemu-probe']
    : ['sh', '-c', PROBE, 'ferry-qemu-probe', statusDir];
}

/**
 * The pids of the processes on a host that run as a QEMU of this domain (`-uuid UUID` among their arguments); exit 3
 * when the host does not let this user read other users' processes.
 */
export function qemuOfUuidArgv(uuid: string): Argv {
  assertUuid(uuid);
  return ['sh', '-c', QEMU_OF_UUID, 'ferry-qemu-of-uuid', uuid];
}
