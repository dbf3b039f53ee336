/** Which running domains run a replaced QEMU (scripts/qemu-probe.sh); the model and parser are core/qemuBinary. */
import type { Argv } from '../core/virsh';
import PROBE from './scripts/qemu-probe.sh';

/**
 * One read of every running QEMU domain on a host (root: libvirt's status files and other users' /proc entries).
 * `statusDir` is for tests only; on a host the daemon's own directory (LIBVIRT_QEMU_STATUS_DIR) is read.
 */
export function qemuProbeArgv(statusDir?: string): Argv {
  return statusDir === undefined
    ? ['sh', '-c', PROBE, 'ferry-qemu-probe']
    : ['sh', '-c', PROBE, 'ferry-qemu-probe', statusDir];
}
