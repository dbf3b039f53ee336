/** The KubeVirt node scan (scripts/kubevirt-pods.sh); the model and parser are core/kubevirt. */
import type { Argv } from '../core/virsh';
import SCAN from './scripts/kubevirt-pods.sh';

/** Once (`intervalS` 0) or on and on, printing a scan only when it changed. */
export const kubevirtScanArgv = (intervalS: number): Argv => [
  'sh',
  '-c',
  SCAN,
  'ferry-kubevirt-pods',
  String(intervalS),
];
