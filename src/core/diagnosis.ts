/**
 * "Why is it slow?": findings about a migration, each with its evidence and a suggested fix. The inputs are read
 * without touching the domain (/proc, /sys, libvirt's job info and migrate-getspeed); nothing here asks QEMU over
 * QMP, which libvirt would record as a taint. Pure: the probe's text is parsed here, gathered by services/diagnosis.
 */
import type { MigrationOptions } from './migration/job';
import type { Sample } from './migration/monitor';
import { CAP_IPC_LOCK, CAPABILITY_NAMES, decodeCapabilities } from './procStatus';

/** What one host's probe saw of its QEMU process and (on the source) of the path to the target. */
export interface HostProbe {
  pid?: number;
  capEff?: string;
  memlockBytes?: number;
  /** per thread: name and CPU share over the probe's one-second window (1 = one core) */
  threads: { name: string; cpu: number }[];
  link?: { dev: string; speedMbps?: number; mtu?: number };
  /** migrate-getspeed, MiB/s (libvirt's "unlimited" is a huge number) */
  speedCapMiBps?: number;
}

export interface Finding {
  id: string;
  severity: 'problem' | 'warning' | 'info';
  title: string;
  evidence: string;
  fix?: string;
}

/**
 * The probe's output: `key=value` lines, and `thread=<tid> <ticks> <name>` lines taken twice, one second apart
 * (`mark=1` between), so a thread's CPU share is the difference in ticks over clock ticks per second.
 */
export function parseProbe(text: string): HostProbe {
  const kv = new Map<string, string>();
  const ticks: Map<string, { name: string; ticks: number }>[] = [new Map(), new Map()];
  let round = 0;
  for (const line of text.split('\n')) {
    if (line === 'mark=1') {
      round = 1;
      continue;
    }
    const thread = /^thread=(\d+) (\d+) (.*)$/s.exec(line); // s: a name may hold U+2028 (the probe turns control characters into spaces)
    if (thread) {
      ticks[round].set(thread[1], { name: thread[3], ticks: Number(thread[2]) });
      continue;
    }
    const m = /^([a-z]+)=(.*)$/.exec(line);
    if (m) kv.set(m[1], m[2].trim());
  }
  const num = (k: string) => (kv.has(k) && /^\d+$/.test(kv.get(k)!) ? Number(kv.get(k)) : undefined);
  const clk = num('clk') ?? 100;
  const threads = [...ticks[1]].map(([tid, after]) => ({
    name: after.name,
    cpu: (after.ticks - (ticks[0].get(tid)?.ticks ?? after.ticks)) / clk,
  }));
  const memlock = kv.get('memlock');
  const dev = kv.get('dev');
  return {
    pid: num('pid'),
    capEff: kv.get('capeff') || undefined,
    memlockBytes: memlock === 'unlimited' ? Infinity : memlock ? Number(memlock) : undefined,
    threads,
    link: dev ? { dev, speedMbps: (num('speed') ?? 0) > 0 ? num('speed') : undefined, mtu: num('mtu') } : undefined,
    speedCapMiBps: num('getspeed'),
  };
}

/** A thread that carries migration data: QEMU ≥ 9 names them mig/src/*, mig/dst/*, older ones live_migration, multifd*. */
export const isSendThread = (n: string) => /^(mig\/src\/send_\d+|multifdsend_\d+)$/.test(n);
export const isRecvThread = (n: string) => /^(mig\/dst\/recv_\d+|multifdrecv_\d+)$/.test(n);
export const isMigrationMain = (n: string) => n === 'live_migration' || n === 'mig/src/main';
/** the busiest thread whose name matches, with its share of one core */
function busiest(p: HostProbe | undefined, match: (n: string) => boolean) {
  return p?.threads.filter((t) => match(t.name)).sort((a, b) => b.cpu - a.cpu)[0];
}

const MiB = 1048576;
const mibps = (bps: number) => `${(bps / MiB).toFixed(0)} MiB/s`;
const gbit = (bps: number) => `${((bps * 8) / 1e9).toFixed(2)} Gbit/s`;
const UNLIMITED_CAP_MIBPS = 8_000_000_000; // anything above this is libvirt's "no limit"
const BUSY = 0.9;

export interface DiagnosisInput {
  /** undefined for a migration Ferry did not start */
  options?: MigrationOptions;
  samples: readonly Sample[];
  source?: HostProbe;
  target?: HostProbe;
  sourceAlias: string;
  targetAlias: string;
}

export function diagnose(input: DiagnosisInput): Finding[] {
  const { options: o, samples, source, target } = input;
  const findings: Finding[] = [];
  const recent = samples.slice(-50).filter((s) => s.bps > 0);
  const avg = (f: (s: Sample) => number) => (recent.length ? recent.reduce((a, s) => a + f(s), 0) / recent.length : 0);
  const throughput = avg((s) => s.bps);
  const dirty = avg((s) => s.dirtyBps);
  const guestBytes = samples.at(-1)?.total;

  // the seed-000 suspects first: capabilities and locked memory of the sending QEMU
  if (source?.capEff !== undefined) {
    const caps = decodeCapabilities(source.capEff);
    const ipcLock = caps.includes(CAPABILITY_NAMES[CAP_IPC_LOCK]);
    const memlockOk =
      source.memlockBytes === Infinity || (guestBytes !== undefined && (source.memlockBytes ?? 0) >= guestBytes);
    const needsLock = !!o?.zeroCopy;
    findings.push({
      id: 'capabilities',
      severity: needsLock && !ipcLock && !memlockOk ? 'problem' : 'info',
      title: ipcLock ? 'QEMU holds cap_ipc_lock' : 'QEMU runs without cap_ipc_lock',
      evidence: `CapEff 0x${source.capEff.replace(/^0+(?=.)/, '')} of QEMU (pid ${source.pid}) on ${input.sourceAlias}: ${caps.length ? caps.join(', ') : 'no capabilities'}`,
      fix:
        needsLock && !ipcLock && !memlockOk
          ? 'zero-copy send pins guest memory: raise the memlock limit above guest RAM (libvirt <memtune><hard_limit>) or use parallel connections without zero-copy'
          : undefined,
    });
  }
  if (source?.memlockBytes !== undefined) {
    const lockTooSmall =
      source.memlockBytes !== Infinity && guestBytes !== undefined && source.memlockBytes < guestBytes;
    findings.push({
      id: 'memlock',
      severity: lockTooSmall && o?.zeroCopy ? 'problem' : 'info',
      title:
        source.memlockBytes === Infinity
          ? 'locked memory: unlimited'
          : `locked memory limit ${(source.memlockBytes / MiB).toFixed(0)} MiB`,
      evidence: `/proc/${source.pid}/limits "Max locked memory"${guestBytes !== undefined ? ` against ${(guestBytes / MiB).toFixed(0)} MiB of guest memory` : ''}`,
      fix:
        lockTooSmall && o?.zeroCopy
          ? 'zero-copy needs all guest memory lockable: set <memtune><hard_limit> in the domain XML'
          : undefined,
    });
  }

  // parallel connections (multifd) actually in effect, from QEMU's thread names
  if (source && samples.length) {
    const senders = source.threads.filter((t) => isSendThread(t.name)).length;
    const wanted = o?.parallelConnections ?? 0;
    if (wanted > 1 && senders === 0) {
      findings.push({
        id: 'multifd',
        severity: 'problem',
        title: 'parallel connections are not in effect',
        evidence: `${wanted} were asked for, QEMU on ${input.sourceAlias} has no multifd send threads`,
        fix: 'check that both QEMUs support multifd and that libvirt passed --parallel',
      });
    } else {
      findings.push({
        id: 'multifd',
        severity: 'info',
        title: senders ? `${senders} parallel connections in effect` : 'one migration stream (no parallel connections)',
        evidence: `QEMU threads on ${input.sourceAlias}: ${
          source.threads
            .map((t) => t.name)
            .filter((n) => isSendThread(n) || isMigrationMain(n))
            .join(', ') || 'no migration threads seen'
        }`,
      });
    }
  }

  if (o?.zeroCopy) {
    findings.push({
      id: 'zero-copy',
      severity: 'info',
      title: 'zero-copy send was asked for; its silent fallback is only visible over QMP',
      evidence:
        'QEMU counts fallbacks in query-migrate\'s "dirty-sync-missed-zero-copy"; libvirt does not pass it on, and Ferry does not query QMP because libvirt marks the domain tainted for it',
      fix: 'if you accept the taint: virsh qemu-monitor-command <domain> \'{"execute":"query-migrate"}\' and watch dirty-sync-missed-zero-copy grow',
    });
  }

  // a bandwidth cap the migration is running into
  const capMiBps =
    o?.bandwidthMiBps ??
    (source?.speedCapMiBps !== undefined && source.speedCapMiBps < UNLIMITED_CAP_MIBPS
      ? source.speedCapMiBps
      : undefined);
  if (capMiBps !== undefined) {
    const atCap = throughput >= capMiBps * MiB * 0.85;
    findings.push({
      id: 'bandwidth-cap',
      severity: atCap ? 'warning' : 'info',
      title: `bandwidth capped at ${capMiBps} MiB/s`,
      evidence: `throughput ${mibps(throughput)} (last ${recent.length} samples) against the cap${atCap ? ': running at it' : ''}`,
      fix: atCap ? 'raise the bandwidth (Set Bandwidth) or remove the cap' : undefined,
    });
  }
  if (o?.tls)
    findings.push({
      id: 'tls',
      severity: 'info',
      title: 'TLS is on',
      evidence: 'QEMU encrypts the stream in its migration threads; one stream is bounded by one core',
      fix: 'use parallel connections to spread encryption over cores',
    });
  if (o && o.compression !== 'none')
    findings.push({
      id: 'compression',
      severity: 'info',
      title: `${o.compression} compression is on`,
      evidence: 'compression trades CPU for bytes; on a fast link it is often slower than sending',
      fix: 'try without compression on links of 10 Gbit/s and above',
    });

  // the path to the target
  const link = source?.link;
  if (link) {
    const linkBps = link.speedMbps ? (link.speedMbps * 1e6) / 8 : undefined;
    findings.push({
      id: 'link',
      severity: link.mtu !== undefined && link.mtu < 9000 && (link.speedMbps ?? 0) >= 25000 ? 'warning' : 'info',
      title: `migration path: ${link.dev}${link.speedMbps ? `, ${link.speedMbps / 1000} Gbit/s` : ', speed unknown'}${link.mtu ? `, MTU ${link.mtu}` : ''}`,
      evidence: `route from ${input.sourceAlias} to ${input.targetAlias}; /sys/class/net/${link.dev}/speed and mtu`,
      fix:
        link.mtu !== undefined && link.mtu < 9000 && (link.speedMbps ?? 0) >= 25000
          ? 'jumbo frames (MTU 9000) on the migration network cut per-packet CPU at this speed'
          : undefined,
    });
    if (linkBps && throughput > 0 && throughput < linkBps * 0.5 && dirty < throughput * 0.05) {
      findings.push({
        id: 'channel-bound',
        severity: 'problem',
        title: 'the channel, not the guest, is the bottleneck',
        evidence: `throughput ${mibps(throughput)} (${gbit(throughput)}) is ${((throughput / linkBps) * 100).toFixed(0)} % of the ${link.speedMbps! / 1000} Gbit/s link while the guest dirties ${mibps(dirty)}`,
        fix: 'look at the CPU findings below; more parallel connections, a faster QEMU build, or a different toolchain (seed 000: a build change cost 30×)',
      });
    }
  }

  // CPU-bound threads on either side
  const sendMain = busiest(source, isMigrationMain);
  if (sendMain && sendMain.cpu >= BUSY) {
    findings.push({
      id: 'source-cpu',
      severity: 'warning',
      title: `QEMU's migration thread on ${input.sourceAlias} is CPU-bound`,
      evidence: `${sendMain.name} at ${(sendMain.cpu * 100).toFixed(0)} % of a core`,
      fix:
        (o?.parallelConnections ?? 0) > 1
          ? 'more parallel connections spread the work'
          : 'parallel connections (multifd) spread sending over cores',
    });
  }
  const recv = busiest(target, isRecvThread);
  const targetMain = busiest(target, (n) => n.startsWith('qemu-system'));
  const hot = [recv, targetMain].filter((t) => t && t.cpu >= BUSY)[0];
  if (hot) {
    findings.push({
      id: 'target-cpu',
      severity: 'warning',
      title: `the receiving QEMU on ${input.targetAlias} is CPU-bound`,
      evidence: `${hot.name} at ${(hot.cpu * 100).toFixed(0)} % of a core`,
      fix: isRecvThread(hot.name)
        ? 'more parallel connections spread receiving'
        : "one stream is received in QEMU's main thread: parallel connections (multifd) move it to receive threads",
    });
  }
  return findings;
}
