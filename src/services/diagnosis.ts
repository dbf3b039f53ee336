/**
 * Gathers what "Why is it slow?" needs, read-only, with one command per host: the QEMU process's capabilities,
 * memlock limit and per-thread CPU over one second (source and target), the route, link speed and MTU towards the
 * target, and libvirt's bandwidth cap. The findings themselves are core/diagnosis.
 */
import type { Finding, HostProbe } from '../core/diagnosis';
import { diagnose, parseProbe } from '../core/diagnosis';
import { probeArgv } from '../remote/diagnosis';
import type { HostRegistry } from './hostRegistry';
import type { MigrationRecord } from '../core/migration/record';

/** where the system libvirt daemon keeps a status file per running QEMU domain (the probe's default: src/remote/scripts) */
export const LIBVIRT_STATUS_DIR = '/run/libvirt/qemu';

export async function probeHost(
  registry: HostRegistry,
  alias: string,
  record: MigrationRecord,
  uri: string,
  peer: string,
  /** the domain's QEMU, when the host's libvirt does not run it (a KubeVirt pod's, from the node scan) */
  qemuPid?: number,
): Promise<HostProbe | undefined> {
  const host = registry.get(alias);
  if (!host || host.connection.state.kind !== 'connected') return undefined;
  const r = await host.connection.exec(probeArgv(record.domainUuid, uri, peer, undefined, qemuPid), {
    timeoutMs: 15_000,
  });
  return r.code === 0 ? parseProbe(r.stdout) : undefined;
}

export interface Diagnosis {
  at: number;
  findings: Finding[];
  source?: HostProbe;
  target?: HostProbe;
}

/** one side of a migration run by another libvirt than the host's (a KubeVirt pod's): its URI and its QEMU's PID */
export interface ProbedDaemon {
  uri: string;
  qemuPid: number;
}

/** Probe both ends (in parallel; each takes about a second) and apply the rules to what the run has shown so far. */

export async function diagnoseMigration(
  registry: HostRegistry,
  record: MigrationRecord,
  uri: string,
  daemons: { source?: ProbedDaemon; target?: ProbedDaemon } = {},
): Promise<Diagnosis> {
  const peer = registry.get(record.target) ? (await registry.resolve(record.target)).hostName : '';
  const { source: s, target: t } = daemons;
  const [source, target] = await Promise.all([
    probeHost(registry, record.source, record, s?.uri ?? uri, peer, s?.qemuPid).catch(() => undefined),
    probeHost(registry, record.target, record, t?.uri ?? uri, '', t?.qemuPid).catch(() => undefined),
  ]);
  const findings = diagnose({
    options: record.options,
    samples: record.samples,
    source,
    target,
    sourceAlias: record.source,
    targetAlias: record.target,
  });
  if (!source)
    findings.unshift({
      id: 'no-probe',
      severity: 'info',
      title: `${record.source} could not be probed`,
      evidence: 'the host is not connected or the QEMU process was not found (is the migration over?)',
    });
  for (const [side, alias, p] of [
    ['source', record.source, source],
    ['target', record.target, target],
  ] as const) {
    if (p && p.pid === undefined)
      findings.unshift({
        id: `no-qemu-${side}`,
        severity: 'info',
        title: `QEMU of ${record.domainName} not found on ${alias}`,
        evidence: `no libvirt status file in ${LIBVIRT_STATUS_DIR} (root's alone) names a running QEMU with the domain's UUID: is the migration over, or is the SSH user not root?`,
      });
  }
  return { at: Date.now(), findings, source, target };
}
