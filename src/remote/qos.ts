/** The kernel's view of a host device (scripts/tc-read.sh, scripts/traffic-stream.bash); its parsers are core/qos. */
import { assertDevice } from '../core/qos';
import type { Argv } from '../core/virsh';
import TC_READ from './scripts/tc-read.sh';
import TRAFFIC_STREAM from './scripts/traffic-stream.bash';

/** One read of tc's classes, ingress filters and qdiscs and the device's byte counters (the device is data: $1). */
export function kernelQosArgv(device: string): Argv {
  assertDevice(device);
  return ['sh', '-c', TC_READ, 'ferry-qos', device];
}

/** a device name tc -batch reads as one word (it splits its lines itself, with quotes and '#'): kernels' own names */
const BATCH_DEVICE = /^[A-Za-z0-9._@-]{1,15}$/;

/**
 * The same reading every `intervalMs` over one channel, for as long as its stdin stays open; bash, for its clock and
 * timed read (no process per reading). The device is data ($1), and of an alphabet tc -batch cannot split. Bash
 * reads no file and no function of the host's: --norc (it would source ~/.bashrc when it thinks sshd started it),
 * -p (no $BASH_ENV, no functions exported in the environment, which could stand in for a builtin).
 */
export function trafficStreamArgv(device: string, intervalMs: number): Argv {
  assertDevice(device);
  if (!BATCH_DEVICE.test(device))
    throw new Error(`"${device}": Ferry streams traffic only for device names of letters, digits and . _ @ -.`);
  if (!Number.isInteger(intervalMs) || intervalMs < 50 || intervalMs > 60_000)
    throw new Error(`a traffic reading every ${intervalMs} ms`);
  return ['bash', '--norc', '-p', '-c', TRAFFIC_STREAM, 'ferry-traffic', device, String(intervalMs)];
}
