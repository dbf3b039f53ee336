/**
 * Live migration as data: options and profiles, the combinations libvirt/QEMU refuse (checked before anything
 * starts), virsh argv for starting and steering a job, and parsing of `virsh domjobinfo --rawstats`.
 * Units: libvirt's memory_bps is bytes/s; virsh --bandwidth and migrate-setspeed take MiB/s; downtime is ms.
 */
import type { Argv } from '../virsh';
import { assertUuid, virsh } from '../virsh';

export type PostcopyMode = 'off' | 'manual' | 'afterPrecopy';
export type Compression = 'none' | 'xbzrle' | 'mt';
export type CopyStorage = 'none' | 'all' | 'inc';

export interface MigrationOptions {
  p2p: boolean;
  persistent: boolean;
  undefineSource: boolean;
  postcopy: PostcopyMode;
  /** 0 or 1: a single migration stream; >1: multifd (--parallel --parallel-connections N) */
  parallelConnections: number;
  zeroCopy: boolean;
  compression: Compression;
  /** MiB/s; undefined = no cap */
  bandwidthMiBps?: number;
  /** ms; undefined = the hypervisor's default (QEMU: 300 ms) */
  maxDowntimeMs?: number;
  autoConverge: boolean;
  tls: boolean;
  copyStorage: CopyStorage;
  /** move the VM's conntrack state and resume it on the target only after the final import (--suspend gate) */
  keepTcpConnections?: boolean;
}

export type ProfileId = 'safe' | 'fast' | 'largeVm';

const FAST_MAX_DOWNTIME_MS = 50;

export const PROFILES: Record<ProfileId, { label: string; detail: string; options: MigrationOptions }> = {
  safe: {
    label: 'Safe',
    detail: 'virsh defaults: one stream, precopy only, no cap, the domain stays transient on the target',
    options: {
      p2p: true,
      persistent: false,
      undefineSource: false,
      postcopy: 'off',
      parallelConnections: 0,
      zeroCopy: false,
      compression: 'none',
      autoConverge: false,
      tls: false,
      copyStorage: 'none',
    },
  },
  // Max downtime 50 ms: with QEMU's 300 ms default, the higher bandwidth of parallel connections makes QEMU stop the
  // guest with more left to send, and the last pass runs slower than it estimates: downtimes of 200-850 ms against a
  // single stream's 5-80 ms, measured (npm run bench -- migration). At 50 ms it takes one more pass, ~0.1 s.
  fast: {
    label: 'Fast',
    detail: 'peer-to-peer, 4 parallel connections (multifd), no bandwidth cap, max downtime 50 ms',
    options: {
      p2p: true,
      persistent: false,
      undefineSource: false,
      postcopy: 'off',
      parallelConnections: 4,
      maxDowntimeMs: FAST_MAX_DOWNTIME_MS,
      zeroCopy: false,
      compression: 'none',
      autoConverge: false,
      tls: false,
      copyStorage: 'none',
    },
  },
  // QEMU refuses postcopy together with multifd, so the large-VM fallback for a migration that does not converge
  // is auto-converge (CPU throttling) here; postcopy stays available in custom options with a single stream. Its max
  // downtime stays QEMU's 300 ms: a large busy guest converges sooner, throttled less, for a longer pause (Fast's
  // 50 ms was measured on a 512 MiB guest only).
  largeVm: {
    label: 'Large VM',
    detail:
      "Fast, plus zero-copy send where the host allows it, auto-converge if it does not converge, and its TCP connections kept; QEMU's max downtime (300 ms)",
    options: {
      p2p: true,
      persistent: false,
      undefineSource: false,
      postcopy: 'off',
      parallelConnections: 4,
      zeroCopy: true,
      compression: 'none',
      autoConverge: true,
      tls: false,
      copyStorage: 'none',
      keepTcpConnections: true,
    },
  },
};

/** Why libvirt/QEMU would refuse these options (empty = acceptable). Checked before anything starts. */
export function optionProblems(o: MigrationOptions): string[] {
  const problems: string[] = [];
  if (o.bandwidthMiBps !== undefined && !(Number.isInteger(o.bandwidthMiBps) && o.bandwidthMiBps > 0)) {
    problems.push(
      `bandwidth must be a whole number of MiB/s above 0 (got ${o.bandwidthMiBps}); leave it empty for no cap`,
    );
  }
  if (
    o.maxDowntimeMs !== undefined &&
    !(Number.isInteger(o.maxDowntimeMs) && o.maxDowntimeMs >= 1 && o.maxDowntimeMs <= 2_000_000)
  ) {
    problems.push(`max downtime must be 1-2000000 ms (got ${o.maxDowntimeMs})`);
  }
  if (!Number.isInteger(o.parallelConnections) || o.parallelConnections < 0 || o.parallelConnections > 255) {
    problems.push(`parallel connections must be 0-255 (got ${o.parallelConnections})`);
  }
  const parallel = o.parallelConnections > 1;
  if (o.zeroCopy && !parallel) problems.push('zero-copy send needs parallel connections (multifd): set 2 or more');
  if (o.zeroCopy && o.tls) problems.push('zero-copy send cannot be combined with TLS (QEMU encrypts in user space)');
  if (o.zeroCopy && o.compression !== 'none') problems.push('zero-copy send cannot be combined with compression');
  if (o.compression !== 'none' && parallel)
    problems.push(`${o.compression} compression does not work with parallel connections in libvirt 9`);
  if (o.undefineSource && !o.persistent)
    problems.push('"undefine on source" without "persistent on target" would leave no definition anywhere');
  if (o.postcopy !== 'off' && o.copyStorage !== 'none')
    problems.push('postcopy cannot be combined with copying storage');
  // QEMU 10.0: migrate-set-capabilities fails with "Postcopy is not yet compatible with multifd"
  if (o.keepTcpConnections && o.postcopy !== 'off')
    problems.push(
      '"keep TCP connections" pauses the domain on the target until the final conntrack import, which postcopy cannot wait for',
    );
  if (o.postcopy !== 'off' && parallel)
    problems.push(
      'postcopy cannot be combined with parallel connections (QEMU: "Postcopy is not yet compatible with multifd")',
    );
  return problems;
}

/** The destination as the *source* host dials it (p2p): libvirt over ssh, never prompting. */
export function targetUri(target: { user: string; hostName: string; port: number }): string {
  const host = target.hostName.includes(':') ? `[${target.hostName}]` : target.hostName;
  const port = target.port === 22 ? '' : `:${target.port}`;
  return `qemu+ssh://${encodeURIComponent(target.user)}@${host}${port}/system?no_tty=1`;
}

/**
 * The migration's launcher writes `ferry-exit=N` on a line of its own once virsh has ended. Only a whole line counts,
 * split on LF alone: virsh's own output quotes domain names, which may hold CR or U+2028 (line ends to a JS regex's
 * `^`/`$` in multiline mode) but never LF, so a name cannot forge the marker.
 */
export function exitLine(line: string): number | undefined {
  const m = /^ferry-exit=(\d{1,3})$/.exec(line);
  return m ? Number(m[1]) : undefined;
}

/** The exit status the launcher wrote into the migration's log: its last marker line. */
export function exitStatusInLog(log: string): number | undefined {
  let status: number | undefined;
  for (const line of log.split('\n')) status = exitLine(line) ?? status;
  return status;
}

/**
 * libvirt's "no limit" for migration bandwidth (INT64_MAX bytes/s in MiB/s). A cap set once (--bandwidth or
 * migrate-setspeed) stays with the domain for later migrations, so "no cap" must be said explicitly.
 */
export const UNLIMITED_BANDWIDTH_MIBPS = '8796093022207';

export function migrateArgv(
  uri: string,
  uuid: string,
  destUri: string,
  o: MigrationOptions,
  suspendOnTarget = false,
): Argv {
  assertUuid(uuid);
  const problems = optionProblems(o);
  if (problems.length) throw new Error(problems.join('; '));
  const flags = ['--live'];
  if (o.p2p) flags.push('--p2p');
  if (o.persistent) flags.push('--persistent');
  if (o.undefineSource) flags.push('--undefinesource');
  if (suspendOnTarget) flags.push('--suspend');
  if (o.postcopy !== 'off') flags.push('--postcopy');
  if (o.postcopy === 'afterPrecopy') flags.push('--postcopy-after-precopy');
  if (o.parallelConnections > 1) flags.push('--parallel', '--parallel-connections', String(o.parallelConnections));
  if (o.zeroCopy) flags.push('--zerocopy');
  if (o.compression !== 'none') flags.push('--compressed', '--comp-methods', o.compression);
  flags.push('--bandwidth', o.bandwidthMiBps !== undefined ? String(o.bandwidthMiBps) : UNLIMITED_BANDWIDTH_MIBPS);
  if (o.autoConverge) flags.push('--auto-converge');
  if (o.tls) flags.push('--tls');
  if (o.copyStorage === 'all') flags.push('--copy-storage-all');
  if (o.copyStorage === 'inc') flags.push('--copy-storage-inc');
  return virsh(uri, 'migrate', ...flags, '--domain', uuid, '--desturi', destUri);
}

export function jobInfoArgv(uri: string, uuid: string, completed = false): Argv {
  assertUuid(uuid);
  return completed
    ? virsh(uri, 'domjobinfo', '--completed', '--keep-completed', '--rawstats', uuid)
    : virsh(uri, 'domjobinfo', '--rawstats', uuid);
}

/** The persistent job reader's question (asked of an interactive virsh, see services/virshShell). */
export function jobReaderQuery(uuid: string): readonly string[] {
  assertUuid(uuid);
  return ['domjobinfo', '--rawstats', uuid];
}

export function setSpeedArgv(uri: string, uuid: string, mibps: number): Argv {
  assertUuid(uuid);
  if (!(Number.isInteger(mibps) && mibps > 0))
    throw new Error(`bandwidth must be a whole number of MiB/s above 0 (got ${mibps})`);
  return virsh(uri, 'migrate-setspeed', uuid, String(mibps));
}

export function setMaxDowntimeArgv(uri: string, uuid: string, ms: number): Argv {
  assertUuid(uuid);
  if (!(Number.isInteger(ms) && ms >= 1))
    throw new Error(`max downtime must be a whole number of ms of at least 1 (got ${ms})`);
  return virsh(uri, 'migrate-setmaxdowntime', uuid, String(ms));
}

export function getMaxDowntimeArgv(uri: string, uuid: string): Argv {
  assertUuid(uuid);
  return virsh(uri, 'migrate-getmaxdowntime', uuid);
}

/** virsh migrate-getmaxdowntime's answer, ms: a whole number alone on its line, else undefined */
export function parseMaxDowntime(text: string): number | undefined {
  const m = /^\s*(\d{1,10})\s*$/.exec(text);
  return m && Number(m[1]) >= 1 ? Number(m[1]) : undefined;
}

export const postcopyArgv = (uri: string, uuid: string): Argv => (
  assertUuid(uuid),
  virsh(uri, 'migrate-postcopy', uuid)
);
export const abortArgv = (uri: string, uuid: string): Argv => (assertUuid(uuid), virsh(uri, 'domjobabort', uuid));

/** virDomainJobType */
export type JobType = 'none' | 'bounded' | 'unbounded' | 'completed' | 'failed' | 'cancelled';
const JOB_TYPES: JobType[] = ['none', 'bounded', 'unbounded', 'completed', 'failed', 'cancelled'];

/** virDomainJobOperation values Ferry cares about */
export const JOB_OPERATION = { migrationIn: 4, migrationOut: 5 } as const;

export interface JobStats {
  type: JobType;
  operation?: number;
  timeElapsedMs?: number;
  dataTotal?: number;
  dataProcessed?: number;
  dataRemaining?: number;
  memoryTotal?: number;
  memoryProcessed?: number;
  memoryRemaining?: number;
  /** bytes/s as libvirt reports it */
  memoryBps?: number;
  /** pages/s */
  dirtyRate?: number;
  pageSize?: number;
  iteration?: number;
  /** expected (running) or total (completed) downtime, ms */
  downtimeMs?: number;
  setupTimeMs?: number;
  postcopyRequests?: number;
  raw: Record<string, number>;
}

/** `virsh domjobinfo --rawstats` (also the key/value body of a job-completed event). */
export function parseJobStats(text: string): JobStats {
  const raw: Record<string, number> = {};
  let type: JobType = 'none';
  for (const line of text.split('\n')) {
    const jobType = /^Job type:\s*(\d+)/.exec(line);
    if (jobType) {
      type = JOB_TYPES[Number(jobType[1])] ?? 'none';
      continue;
    }
    const kv = /^\s*([a-z_]+):\s*(-?\d+)\s*$/.exec(line);
    if (kv) raw[kv[1]] = Number(kv[2]);
  }
  return {
    type,
    operation: raw.operation,
    timeElapsedMs: raw.time_elapsed,
    dataTotal: raw.data_total,
    dataProcessed: raw.data_processed,
    dataRemaining: raw.data_remaining,
    memoryTotal: raw.memory_total,
    memoryProcessed: raw.memory_processed,
    memoryRemaining: raw.memory_remaining,
    memoryBps: raw.memory_bps,
    dirtyRate: raw.memory_dirty_rate,
    pageSize: raw.memory_page_size,
    iteration: raw.memory_iteration,
    downtimeMs: raw.downtime,
    setupTimeMs: raw.setup_time,
    postcopyRequests: raw.memory_postcopy_requests,
    raw,
  };
}

export const isActiveJob = (s: JobStats) => s.type === 'bounded' || s.type === 'unbounded';

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** bytes/s as MiB/s and Gbit/s, both, because peers and users quote either */
export function formatRate(bytesPerSecond: number | undefined): string {
  if (bytesPerSecond === undefined) return '?';
  return `${(bytesPerSecond / 1048576).toFixed(0)} MiB/s (${((bytesPerSecond * 8) / 1e9).toFixed(2)} Gbit/s)`;
}

/** A run's options in a few words, for pickers, summaries and the monitor. */
export function describeOptions(o: MigrationOptions): string {
  const parts = [o.p2p ? 'p2p' : 'client-managed'];
  if (o.parallelConnections > 1) parts.push(`${o.parallelConnections} connections`);
  if (o.zeroCopy) parts.push('zero-copy');
  if (o.postcopy !== 'off') parts.push(o.postcopy === 'manual' ? 'postcopy (manual)' : 'postcopy after precopy');
  if (o.compression !== 'none') parts.push(`${o.compression} compression`);
  if (o.bandwidthMiBps !== undefined) parts.push(`cap ${o.bandwidthMiBps} MiB/s`);
  if (o.maxDowntimeMs !== undefined) parts.push(`max downtime ${o.maxDowntimeMs} ms`);
  if (o.autoConverge) parts.push('auto-converge');
  if (o.tls) parts.push('TLS');
  if (o.persistent) parts.push('persistent');
  if (o.undefineSource) parts.push('undefine source');
  if (o.copyStorage !== 'none') parts.push(`copy storage (${o.copyStorage})`);
  if (o.keepTcpConnections) parts.push('keep TCP connections');
  return parts.join(', ');
}
