/**
 * Gathers what "Why is it slow?" needs, read-only, with one command per host: the QEMU process's capabilities,
 * memlock limit and per-thread CPU over one second (source and target), the route, link speed and MTU towards the
 * target, and libvirt's bandwidth cap. The findings themselves are core/diagnosis.
 */
import type { Finding, HostProbe } from '../core/diagnosis';
import { diagnose, parseProbe } from '../core/diagnosis';
import { assertUuid } from '../core/virsh';
import type { HostRegistry } from './hostRegistry';
import type { MigrationRecord } from '../core/migration/record';

/** $1 domain name, $2 uuid, $3 libvirt URI, $4 the peer to route towards (empty on the target). */
export const PROBE = `name=$1; uuid=$2; uri=$3; peer=$4
pid=$(cat "/run/libvirt/qemu/$name.pid" 2>/dev/null)
if [ -z "$pid" ]; then
  for p in /proc/[0-9]*; do case "$(tr '\\0' ' ' <"$p/cmdline" 2>/dev/null)" in *"-uuid $uuid "*) pid=\${p#/proc/}; break;; esac; done
fi
echo "pid=$pid"; echo "clk=$(getconf CLK_TCK)"
if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
  echo "capeff=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$pid/status")"
  echo "memlock=$(awk '/^Max locked memory/ {print $4}' "/proc/$pid/limits")"
  threads() { for t in /proc/$pid/task/*; do read -r comm <"$t/comm"; set -- $(sed 's/^.*) //' "$t/stat"); echo "thread=\${t##*/} $(($12 + $13)) $comm"; done; }
  threads; sleep 1; echo mark=1; threads
fi
if [ -n "$peer" ]; then
  addr=$(getent hosts "$peer" | awk '{print $1; exit}')
  dev=$(ip -o route get "\${addr:-$peer}" 2>/dev/null | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')
  if [ -n "$dev" ]; then echo "dev=$dev"; echo "speed=$(cat "/sys/class/net/$dev/speed" 2>/dev/null)"; echo "mtu=$(cat "/sys/class/net/$dev/mtu")"; fi
  echo "getspeed=$(virsh -q -c "$uri" migrate-getspeed "$uuid" 2>/dev/null)"
fi`;

export async function probeHost(registry: HostRegistry, alias: string, record: MigrationRecord, uri: string, peer: string): Promise<HostProbe | undefined> {
  const host = registry.get(alias);
  if (!host || host.connection.state.kind !== 'connected') return undefined;
  assertUuid(record.domainUuid);
  const r = await host.connection.exec(['sh', '-c', PROBE, 'ferry-probe', record.domainName, record.domainUuid, uri, peer], { timeoutMs: 15_000 });
  return r.code === 0 ? parseProbe(r.stdout) : undefined;
}

export interface Diagnosis {
  at: number;
  findings: Finding[];
  source?: HostProbe;
  target?: HostProbe;
}

/** Probe both ends (in parallel; each takes about a second) and apply the rules to what the run has shown so far. */
export async function diagnoseMigration(registry: HostRegistry, record: MigrationRecord, uri: string): Promise<Diagnosis> {
  const peer = registry.get(record.target) ? (await registry.resolve(record.target)).hostName : '';
  const [source, target] = await Promise.all([
    probeHost(registry, record.source, record, uri, peer).catch(() => undefined),
    probeHost(registry, record.target, record, uri, '').catch(() => undefined),
  ]);
  const findings = diagnose({ options: record.options, samples: record.samples, source, target, sourceAlias: record.source, targetAlias: record.target });
  if (!source) findings.unshift({ id: 'no-probe', severity: 'info', title: `${record.source} could not be probed`, evidence: 'the host is not connected or the QEMU process was not found (is the migration over?)' });
  return { at: Date.now(), findings, source, target };
}
