/** The KubeVirt node scan (scripts/kubevirt-pods.sh); the model and parser are core/kubevirt. */
import type { Argv } from '../core/virsh';
import SCAN from './scripts/kubevirt-pods.sh';

/**
 * Once (`intervalS` 0) or on and on, printing a scan only when it changed: every `intervalS` while the node has pods,
 * every `idleS` while it has none.
 */
export const kubevirtScanArgv = (intervalS: number, idleS = intervalS): Argv => [
  'sh',
  '-c',
  SCAN,
  'ferry-kubevirt-pods',
  String(intervalS),
  String(idleS),
];
