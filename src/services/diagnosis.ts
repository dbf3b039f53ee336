/**
 * Gathers what "Why is it slow?" needs, read-only, with one command per host: the QEMU process's capabilities,
 * memlock limit and per-thread CPU over one second (source and target), the route, link speed and MTU towards the
 * target, and libvirt's bandwidth cap. The findings themselves are core/diagnosis.
 */
import type { Finding, HostProbe } from '../core/diagnosis';
import { diagnose, parseProbe } from '../core/diagnosis';
import type { Argv } from '../core/virsh';
import { assertUuid } from '../core/virsh';
import type { HostRegistry } from './hostRegistry';
import type { MigrationRecord } from '../core/migration/record';

/** where the system libvirt daemon keeps a status file per running QEMU domain */
export const LIBVIRT_STATUS_DIR = '/run/libvirt/qemu';

/**
 * sh that sets `pid` to the QEMU process of the domain whose UUID is in `$uuid`, or to '' — from libvirt's own record
 * of it, never from a name or a command line: each `$dir`/*.xml is a `<domstatus … pid='N'>` around the live
 * `<domain>`, whose first `<uuid>` must equal `$uuid` exactly (libvirt escapes `<` in every value, so no name or
 * attribute fakes an element; anything raw like `<metadata>` comes after the uuid). The directory is root's. Files
 * are opened with getline, so one that vanishes while it is read (a domain stopping) is skipped, not fatal as a
 * missing input file is to mawk. The pid is then checked, never found, by the command line: it must carry `-uuid`
 * and `$uuid` as two whole arguments, or a stale status file naming a reused pid would give some other process.
 * Any process can SAY `-uuid <ours>`, which is why this check is no way to find QEMU.
 */
const QEMU_PID_BY_UUID = `pid=$(want=$uuid awk 'BEGIN {
  for (i = 1; i < ARGC; i++) {
    pid = ""; indom = 0
    while ((getline line < ARGV[i]) > 0) {
      if (pid == "" && line ~ /<domstatus[ \\t]/) { pid = line; sub(/.*[ \\t]pid=./, "", pid); sub(/[^0-9].*/, "", pid) }
      if (line ~ /<domain[ \\t>]/) indom = 1
      if (indom && line ~ /<uuid>/) { sub(/.*<uuid>/, "", line); sub(/<\\/uuid>.*/, "", line); if (line == ENVIRON["want"] && pid != "") { print pid; exit } break }
    }
    close(ARGV[i])
  }
}' "$dir"/*.xml)
case $pid in
  ''|0*|*[!0-9]*) pid= ;;
  *) tr '\\0' '\\n' <"/proc/$pid/cmdline" 2>/dev/null | want=$uuid awk 'prev == "-uuid" && $0 == ENVIRON["want"] { ok = 1 } { prev = $0 } END { exit !ok }' || pid= ;;
esac`;

/**
 * $1 the domain's UUID, $2 libvirt URI, $3 the peer to route towards (empty on the target), $4 the directory of
 * libvirt's status files (default LIBVIRT_STATUS_DIR; another one only for tests). QEMU's pid: QEMU_PID_BY_UUID.
 *
 * A thread's ticks are utime + stime from /proc/<pid>/task/<tid>/stat. comm sits in parentheses and may hold spaces,
 * ')' and even a newline, so a stat file is read whole and split after its LAST ')': then utime and stime are the
 * 12th and 13th fields (14 and 15 of the full line). Control characters in a name become spaces (one line per
 * thread). All threads are read by one awk each time, with getline, so a thread that ends meanwhile is skipped.
 */
export const PROBE = `uuid=$1; uri=$2; peer=$3; dir=\${4:-${LIBVIRT_STATUS_DIR}}
${QEMU_PID_BY_UUID}
echo "pid=$pid"; echo "clk=$(getconf CLK_TCK)"
if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
  echo "capeff=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$pid/status")"
  echo "memlock=$(awk '/^Max locked memory/ {print $4}' "/proc/$pid/limits")"
  threads() {
    awk 'BEGIN {
      for (i = 1; i < ARGC; i++) {
        s = ""; n = 0
        while ((getline line < ARGV[i]) > 0) s = (n++ ? s "\\n" : "") line
        close(ARGV[i])
        lp = index(s, " ("); rp = 0; r = s
        while ((j = index(r, ")")) > 0) { rp += j; r = substr(r, j + 1) }
        if (lp == 0 || rp <= lp || split(substr(s, rp + 2), f, " ") < 13) continue
        name = substr(s, lp + 2, rp - lp - 2); gsub(/[\\001-\\037\\177]/, " ", name)
        printf "thread=%s %.0f %s\\n", substr(s, 1, lp - 1), f[12] + f[13], name
      }
    }' /proc/"$pid"/task/*/stat
  }
  threads; sleep 1; echo mark=1; threads
fi
if [ -n "$peer" ]; then
  addr=$(getent hosts "$peer" | awk '{print $1; exit}')
  dev=$(ip -o route get "\${addr:-$peer}" 2>/dev/null | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')
  if [ -n "$dev" ]; then echo "dev=$dev"; echo "speed=$(cat "/sys/class/net/$dev/speed" 2>/dev/null)"; echo "mtu=$(cat "/sys/class/net/$dev/mtu")"; fi
  echo "getspeed=$(virsh -q -c "$uri" migrate-getspeed "$uuid" 2>/dev/null)"
fi`;

/** The probe's command for the domain with this UUID (libvirt writes UUIDs in lower case, the probe compares exactly). */
export function probeArgv(uuid: string, uri: string, peer: string, statusDir?: string): Argv {
  assertUuid(uuid);
  return ['sh', '-c', PROBE, 'ferry-probe', uuid.toLowerCase(), uri, peer, ...(statusDir === undefined ? [] : [statusDir])];
}

/**
 * The preflight's read of the domain's QEMU before a zero-copy migration: its `CapEff:` line and its `Max locked memory`
 * line, nothing when libvirt has no running QEMU for the UUID. $1 the UUID, $2 the status directory (tests only).
 */
const QEMU_LIMITS = `uuid=$1; dir=\${2:-${LIBVIRT_STATUS_DIR}}
${QEMU_PID_BY_UUID}
[ -n "$pid" ] || exit 0
grep '^CapEff:' "/proc/$pid/status"; grep '^Max locked memory' "/proc/$pid/limits"`;

export function qemuLimitsArgv(uuid: string, statusDir?: string): Argv {
  assertUuid(uuid);
  return ['sh', '-c', QEMU_LIMITS, 'ferry-check', uuid.toLowerCase(), ...(statusDir === undefined ? [] : [statusDir])];
}

export async function probeHost(registry: HostRegistry, alias: string, record: MigrationRecord, uri: string, peer: string): Promise<HostProbe | undefined> {
  const host = registry.get(alias);
  if (!host || host.connection.state.kind !== 'connected') return undefined;
  const r = await host.connection.exec(probeArgv(record.domainUuid, uri, peer), { timeoutMs: 15_000 });
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
  for (const [side, alias, p] of [['source', record.source, source], ['target', record.target, target]] as const) {
    if (p && p.pid === undefined) findings.unshift({ id: `no-qemu-${side}`, severity: 'info', title: `QEMU of ${record.domainName} not found on ${alias}`, evidence: `no libvirt status file in ${LIBVIRT_STATUS_DIR} (root's alone) names a running QEMU with the domain's UUID: is the migration over, or is the SSH user not root?` });
  }
  return { at: Date.now(), findings, source, target };
}
