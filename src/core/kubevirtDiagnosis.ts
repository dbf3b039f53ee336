/**
 * What Ferry makes of a KubeVirt migration it watches from the nodes (core/kubevirt has the pods): the QEMU's
 * capabilities (seed 000), and a bandwidth cap the node cannot read.
 */
import type { Finding } from './diagnosis';
import type { KubevirtPod } from './kubevirt';
import { CAP_IPC_LOCK, CAP_NET_BIND_SERVICE, formatCaps, hasCap } from './kubevirt';
import type { Sample } from './migration/monitor';

/**
 * The seed-000 finding: QEMU without CAP_IPC_LOCK cannot pin pages, so multifd zero-copy send (MSG_ZEROCOPY) is not
 * available and every page is copied into the socket. Only where the QEMU's capabilities are known.
 */
export function capabilityFindings(pod: KubevirtPod): Finding[] {
  if (!pod.qemu) return [];
  const { uid, capEff } = pod.qemu;
  if (hasCap(capEff, CAP_IPC_LOCK)) return [];
  return [
    {
      id: 'kubevirt-no-ipc-lock',
      severity: 'problem',
      title: `QEMU of ${pod.namespace}/${pod.vm} lacks CAP_IPC_LOCK: zero-copy migration cannot be used`,
      evidence:
        `QEMU (pid ${pod.qemu.pid}) runs as uid ${uid} with CapEff ${formatCaps(capEff)}` +
        `${BigInt(`0x${capEff}`) === 1n << BigInt(CAP_NET_BIND_SERVICE) ? ' (CAP_NET_BIND_SERVICE only: a non-root virt-launcher)' : ''}. ` +
        `Multifd zero-copy send pins guest pages (MSG_ZEROCOPY), which needs CAP_IPC_LOCK; without it QEMU copies ` +
        `every page into the socket, and on a fast link the migration is bound by that copy, not by the network.`,
      fix:
        'Give the launcher CAP_IPC_LOCK (or a memlock limit that covers guest memory) where zero-copy is wanted, or ' +
        'use more parallel migration connections (the migration policy) to spread the copying over cores.',
    },
  ];
}

/** the samples a steady throughput is judged on, and how little it may vary among them */
const CAP_WINDOW = 20;
const CAP_SPREAD = 0.15;

/**
 * A cap KubeVirt set cannot be read from the node (libvirt refuses virDomainMigrateGetMaxSpeed on a read-only
 * connection), but it shows: a throughput that holds level while the guest dirties less than is sent.
 */
export function kubevirtCapFindings(samples: readonly Sample[]): Finding[] {
  const recent = samples.slice(-CAP_WINDOW).filter((s) => s.bps > 0);
  if (recent.length < CAP_WINDOW / 2) return [];
  const rates = recent.map((s) => s.bps);
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  const spread = (Math.max(...rates) - Math.min(...rates)) / mean;
  const dirty = recent.reduce((a, s) => a + s.dirtyBps, 0) / recent.length;
  if (spread > CAP_SPREAD) return [];
  const mib = (mean / 2 ** 20).toFixed(0);
  return [
    {
      id: 'kubevirt-bandwidth-cap',
      severity: 'warning',
      title: `throughput holds at ${mib} MiB/s: the mark of a bandwidth cap`,
      evidence:
        `the last ${recent.length} samples stay within ${(spread * 100).toFixed(0)} % of ${mib} MiB/s while the guest ` +
        `dirties ${(dirty / 2 ** 20).toFixed(0)} MiB/s. KubeVirt sets a cap from bandwidthPerMigration; the node ` +
        `cannot read it (libvirt refuses virDomainMigrateGetMaxSpeed on a read-only connection).`,
      fix:
        "check bandwidthPerMigration in the KubeVirt CR's spec.configuration.migrations and in the VM's " +
        'MigrationPolicy; raise or remove it there (Ferry does not steer a migration KubeVirt owns)',
    },
  ];
}
