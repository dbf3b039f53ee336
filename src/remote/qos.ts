/** The kernel's view of a host device (scripts/tc-read.sh); its parsers are core/qos. */
import { assertDevice } from '../core/qos';
import type { Argv } from '../core/virsh';
import TC_READ from './scripts/tc-read.sh';

/** One read of tc's classes, ingress filters and qdiscs and the device's byte counters (the device is data: $1). */
export function kernelQosArgv(device: string): Argv {
  assertDevice(device);
  return ['sh', '-c', TC_READ, 'ferry-qos', device];
}
