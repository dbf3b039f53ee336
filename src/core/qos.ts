/**
 * Interface QoS as data: units and conversions, the checks libvirt does not make, `virsh domiftune` argv and
 * parsers of what libvirt and the kernel report, and the comparison of what was asked with what is enforced.
 *
 * libvirt's units: average, peak and floor in kB/s (1000 bytes/s: libvirt hands tc `rate <N>kbps`), burst in KiB.
 * Inbound (host → guest) is an HTB class on the tap's egress; outbound (guest → host) an ingress policer, which has
 * no peak. On macvtap (type='direct') the two are swapped.
 */
import { XMLParser } from 'fast-xml-parser';
import type { Argv } from './virsh';
import { assertUuid, virsh } from './virsh';

export type Direction = 'inbound' | 'outbound';
export const DIRECTIONS: readonly Direction[] = ['inbound', 'outbound'];

/** One direction as libvirt stores it: rates in kB/s, burst in KiB; 0 or absent means not set. */
export interface DirectionLimit {
  average: number;
  peak?: number;
  burst?: number;
  floor?: number;
}
export type Bandwidth = Partial<Record<Direction, DirectionLimit>>;

export const LIBVIRT_RATE_BYTES = 1000;
export const LIBVIRT_BURST_BYTES = 1024;
/** libvirt's limits: rates are unsigned int; tc refuses bursts above 4194303 KiB, which libvirt 9.0 still passes */
export const MAX_RATE = 4294967295;
export const MAX_BURST = 4194303;
export const QOS_INTERFACE_TYPES: readonly string[] = ['bridge', 'network', 'direct', 'ethernet'];

export type RateUnit = 'Mbit/s' | 'Gbit/s' | 'kbit/s' | 'MiB/s' | 'MB/s';
/** bytes/s in one of each unit: MiB/s is Proxmox's "MB/s", MB/s is 10^6 */
export const RATE_UNITS: Record<RateUnit, number> = {
  'kbit/s': 125,
  'Mbit/s': 125_000,
  'Gbit/s': 125_000_000,
  'MB/s': 1_000_000,
  'MiB/s': 1_048_576,
};
export type BurstUnit = 'KiB' | 'MiB';
export const BURST_UNITS: Record<BurstUnit, number> = { KiB: 1024, MiB: 1_048_576 };

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
/** A host device name as Ferry will use it, in argv and in /sys/class/net/<name>: no path, no blank, IFNAMSIZ */
const DEVICE = /^(?!\.\.?$)[^/\s]{1,15}$/;

export function assertMac(mac: string): void {
  if (!MAC.test(mac)) throw new Error(`"${mac}" is not a MAC address of the form 52:54:00:12:34:56.`);
}
export function assertDevice(device: string): void {
  if (!DEVICE.test(device)) throw new Error(`"${device}" is not a host network device name Ferry can read.`);
}

/** A libvirt rate (kB/s) in the user's unit, e.g. "10 Mbit/s"; up to three decimals, no trailing zeros. */
export function formatRate(kBps: number, unit: RateUnit): string {
  const value = (kBps * LIBVIRT_RATE_BYTES) / RATE_UNITS[unit];
  return `${Number(value.toFixed(3))} ${unit}`;
}

export function formatBurst(kib: number, unit: BurstUnit): string {
  return `${Number(((kib * LIBVIRT_BURST_BYTES) / BURST_UNITS[unit]).toFixed(3))} ${unit}`;
}

/** "↓ 100 Mbit/s · ↑ 50 Mbit/s": ↓ is into the guest (inbound), ↑ out of it; "no limit" when neither is set. */
export function describeLimits(bw: Bandwidth, unit: RateUnit): string {
  const part = (arrow: string, d?: DirectionLimit) => {
    if (!d?.average && !d?.floor) return undefined;
    const extra = [
      d.peak ? `peak ${formatRate(d.peak, unit)}` : '',
      d.floor ? `floor ${formatRate(d.floor, unit)}` : '',
    ].filter(Boolean);
    return `${arrow} ${d.average ? formatRate(d.average, unit) : 'no average'}${extra.length ? ` (${extra.join(', ')})` : ''}`;
  };
  const parts = [part('↓', bw.inbound), part('↑', bw.outbound)].filter(Boolean);
  return parts.length ? parts.join(' · ') : 'no limit';
}

export interface DomainInterface {
  mac: string;
  /** bridge, network, direct, ethernet, user, … */
  type: string;
  /** the bridge, network or host device it is attached to */
  source?: string;
  model?: string;
  /** the host device (vnetN, macvtapN) while the domain runs */
  device?: string;
  bandwidth: Bandwidth;
}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (name) => name === 'interface',
});

type XmlNode = Record<string, string | undefined>;
const limitFrom = (node: XmlNode | undefined): DirectionLimit | undefined => {
  if (!node) return undefined;
  const n = (k: string) => (node[`@${k}`] !== undefined ? Number(node[`@${k}`]) : undefined);
  const limit: DirectionLimit = { average: n('average') ?? 0, peak: n('peak'), burst: n('burst'), floor: n('floor') };
  return limit.average || limit.floor ? limit : undefined;
};

/** The interfaces of a domain's XML (`virsh dumpxml`), with their <bandwidth>. */
export function parseInterfaces(domainXml: string): DomainInterface[] {
  const d = xml.parse(domainXml).domain;
  if (!d) throw new Error('not a domain XML');
  const interfaces: Record<string, Record<string, XmlNode | undefined> & XmlNode>[] = d.devices?.interface ?? [];
  return interfaces.map((i) => {
    const source = i.source as XmlNode | undefined;
    const bandwidth = i.bandwidth as unknown as Record<Direction, XmlNode> | undefined;
    return {
      mac: String((i.mac as XmlNode | undefined)?.['@address'] ?? '').toLowerCase(),
      type: String(i['@type'] ?? ''),
      source: source?.['@bridge'] ?? source?.['@network'] ?? source?.['@dev'],
      model: (i.model as XmlNode | undefined)?.['@type'],
      device: (i.target as XmlNode | undefined)?.['@dev'],
      bandwidth: { inbound: limitFrom(bandwidth?.inbound), outbound: limitFrom(bandwidth?.outbound) },
    };
  });
}

/** `virsh domiftune DOMAIN MAC`: "inbound.average: 1250" lines; zeros mean not set. */
export function parseDomIfTune(text: string): Bandwidth {
  const values = new Map<string, number>();
  for (const m of text.matchAll(/^(inbound|outbound)\.(average|peak|burst|floor)\s*:\s*(\d+)\s*$/gm))
    values.set(`${m[1]}.${m[2]}`, Number(m[3]));
  if (!values.size) throw new Error(`unexpected domiftune output: ${text.slice(0, 200)}`);
  const direction = (d: Direction): DirectionLimit | undefined => {
    const v = (k: string) => values.get(`${d}.${k}`) || undefined;
    const limit = { average: v('average') ?? 0, peak: v('peak'), burst: v('burst'), floor: v('floor') };
    return limit.average || limit.floor ? limit : undefined;
  };
  return { inbound: direction('inbound'), outbound: direction('outbound') };
}

export type Scope = 'live' | 'config';

/** Set whole directions: every field is sent (0 where unset), so a change never resets what the user did not touch. */
export function domIfTuneSetArgv(uri: string, uuid: string, mac: string, bw: Bandwidth, scope: Scope): Argv {
  assertUuid(uuid);
  assertMac(mac);
  const args: string[] = [];
  for (const d of DIRECTIONS) {
    const l = bw[d];
    if (!l) continue;
    const fields = [l.average, l.peak ?? 0, l.burst ?? 0, ...(d === 'inbound' && l.floor ? [l.floor] : [])];
    args.push(`--${d}`, fields.join(','));
  }
  if (!args.length) throw new Error('nothing to set');
  return virsh(uri, 'domiftune', uuid, mac, `--${scope}`, ...args);
}

export function domIfTuneReadArgv(uri: string, uuid: string, mac: string, scope: Scope): Argv {
  assertUuid(uuid);
  assertMac(mac);
  return virsh(uri, 'domiftune', uuid, mac, `--${scope}`);
}

/** What the user typed for one direction: rates in `unit`, burst in `burstUnit`; undefined = leave empty. */
export interface DirectionInput {
  average: number;
  peak?: number;
  burst?: number;
  floor?: number;
}

export interface QosChange {
  unit: RateUnit;
  burstUnit: BurstUnit;
  /** 'remove' clears the direction (average 0); absent leaves it as it is */
  inbound?: DirectionInput | 'remove';
  outbound?: DirectionInput | 'remove';
}

export interface QosTarget {
  /** the interface's type in the domain XML */
  type: string;
  /** the libvirt URI Ferry uses on the host */
  uri: string;
}

export interface QosPlan {
  /** what is sent to libvirt, whole directions */
  bandwidth: Bandwidth;
  /** refusals, each saying what to change; nothing is sent while there is one */
  problems: string[];
  /** non-zero values that would be stored as 0 ("no limit"); rounded up to the smallest value only when asked */
  roundsToZero: string[];
  /** each value as entered, as libvirt stores it and as the kernel enforces it */
  conversions: string[];
}

/**
 * Turn what the user entered into libvirt's units, with every check libvirt does not make (or makes only when tc
 * fails). roundUp: values that would round to 0 become the smallest enforceable value (1 kB/s, 1 KiB) instead.
 */
export function planQos(change: QosChange, target: QosTarget, roundUp = false): QosPlan {
  const problems: string[] = [];
  const roundsToZero: string[] = [];
  const conversions: string[] = [];
  const bandwidth: Bandwidth = {};
  if (/\/session\b/.test(target.uri))
    problems.push(
      `${target.uri} is a session-mode libvirt, which cannot set bandwidth (it needs the privileges of qemu:///system). Connect Ferry to the system daemon.`,
    );
  if (!QOS_INTERFACE_TYPES.includes(target.type)) {
    problems.push(
      `A '${target.type}' interface takes no bandwidth limit: libvirt applies QoS to bridge, network, direct and ethernet interfaces only.`,
    );
  }
  const unit = change.unit;
  const rate = (d: Direction, field: string, value: number | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const label = `${d} ${field}`;
    if (!Number.isFinite(value) || value < 0) {
      problems.push(`${label}: "${value}" is not a rate; enter a number of ${unit}, 0 or more.`);
      return undefined;
    }
    const exact = (value * RATE_UNITS[unit]) / LIBVIRT_RATE_BYTES;
    let stored = Math.round(exact);
    if (value > 0 && stored === 0) {
      if (!roundUp) {
        roundsToZero.push(
          `${label} ${value} ${unit} is ${exact.toPrecision(3)} kB/s, which libvirt would store as 0, meaning no limit at all. The smallest limit is 1 kB/s (${formatRate(1, unit)}).`,
        );
        return undefined;
      }
      stored = 1;
    }
    if (stored > MAX_RATE) {
      problems.push(
        `${label} ${value} ${unit} is above libvirt's maximum of ${formatRate(MAX_RATE, unit)}; enter a smaller value.`,
      );
      return undefined;
    }
    if (stored)
      conversions.push(
        `${label}: ${value} ${unit} → libvirt ${stored} kB/s → kernel ${(stored * 8).toLocaleString('en-US')} kbit/s`,
      );
    return stored;
  };
  const burst = (d: Direction, value: number | undefined): number | undefined => {
    if (value === undefined) return undefined;
    if (!Number.isFinite(value) || value < 0) {
      problems.push(`${d} burst: "${value}" is not a size; enter a number of ${change.burstUnit}, 0 or more.`);
      return undefined;
    }
    const exact = (value * BURST_UNITS[change.burstUnit]) / LIBVIRT_BURST_BYTES;
    let stored = Math.round(exact);
    if (value > 0 && stored === 0) {
      if (!roundUp) {
        roundsToZero.push(
          `${d} burst ${value} ${change.burstUnit} rounds to 0 KiB, which libvirt treats as no burst. The smallest burst is 1 KiB.`,
        );
        return undefined;
      }
      stored = 1;
    }
    if (stored > MAX_BURST) {
      problems.push(
        `${d} burst ${value} ${change.burstUnit} is above the largest burst tc accepts, ${formatBurst(MAX_BURST, change.burstUnit)} (libvirt would store it and fail when applying it); enter a smaller one.`,
      );
      return undefined;
    }
    if (stored) conversions.push(`${d} burst: ${value} ${change.burstUnit} → libvirt ${stored} KiB`);
    return stored;
  };
  for (const d of DIRECTIONS) {
    const input = change[d];
    if (input === undefined) continue;
    if (input === 'remove') {
      bandwidth[d] = { average: 0 };
      conversions.push(`${d}: limit removed`);
      continue;
    }
    const limit: DirectionLimit = {
      average: rate(d, 'average', input.average) ?? 0,
      peak: rate(d, 'peak', input.peak),
      burst: burst(d, input.burst),
      floor: rate(d, 'floor', input.floor),
    };
    if (limit.floor && d === 'outbound')
      problems.push('A floor applies to inbound traffic only; leave the outbound floor empty.');
    if (limit.floor && target.type !== 'network') {
      problems.push(
        `A floor needs an interface of type 'network' whose network has an inbound QoS; this one is '${target.type}'. Leave the floor empty.`,
      );
    }
    if (!limit.average && !(d === 'inbound' && limit.floor) && (limit.peak || limit.burst)) {
      problems.push(`${d}: peak and burst need an average; enter an average, or remove the ${d} limit.`);
    }
    if (limit.peak && limit.average && limit.peak < limit.average) {
      problems.push(
        `${d} peak (${formatRate(limit.peak, unit)}) is below the average (${formatRate(limit.average, unit)}); the peak must be at least the average.`,
      );
    }
    if (d === 'outbound' && limit.peak) {
      problems.push(
        `An outbound peak is ignored by the kernel (outbound traffic is policed at the average rate); leave the outbound peak empty.`,
      );
    }
    if (!limit.average && !limit.floor && !input.average) conversions.push(`${d}: average 0 removes the limit`);
    bandwidth[d] = limit;
  }
  return { bandwidth, problems, roundsToZero, conversions };
}

/** What tc shows on a host device: the HTB class of inbound shaping, the ingress policer, byte counters. */
export interface KernelQos {
  htb?: {
    rateBits: number;
    ceilBits: number;
    burstBytes: number;
    sentBytes: number;
    packets: number;
    dropped: number;
    overlimits: number;
  };
  police?: { rateBits: number; burstBytes: number };
  /** an ingress qdisc exists (libvirt adds it for an outbound limit, even when the policer could not be added) */
  ingress: boolean;
  /** /sys/class/net/<dev>/statistics: bytes the host sent into the device (to the guest) and received from it */
  txBytes?: number;
  rxBytes?: number;
}

/** tc's rates ("10Mbit", "8200Kbit", "500bit"; "Mibit" with -iec) in bits/s */
export function parseTcRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)(i?)bit$/.exec(text);
  if (!m) throw new Error(`unexpected tc rate "${text}"`);
  const base = m[3] ? 1024 : 1000;
  return Number(m[1]) * base ** ' KMGT'.indexOf(m[2] || ' ');
}

/** tc's sizes ("64Kb", "1600b", "2Mb"; 1024-based) in bytes */
export function parseTcSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(Mb|Kb|b)$/.exec(text);
  if (!m) throw new Error(`unexpected tc size "${text}"`);
  return Math.round(Number(m[1]) * { b: 1, Kb: 1024, Mb: 1_048_576 }[m[2] as 'b' | 'Kb' | 'Mb']);
}

export function parseKernelQos(text: string): KernelQos {
  const [classes = '', filters = '', qdiscs = '', bytes = ''] = text.split(/^@@(?:filter|qdisc|bytes)$/m);
  const result: KernelQos = { ingress: /^qdisc ingress ffff:/m.test(qdiscs) };
  // the leaf class libvirt shapes with (1:1 on a plain tap); its counters follow on the next line
  const leaf =
    /^class htb \S+ .*?\bleaf\b.*?\brate (\S+) ceil (\S+) .*?\bburst (\S+?)(?:\/\d+)? .*\n\s*Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)/m.exec(
      classes,
    );
  if (leaf) {
    const [, rate, ceil, burst, sent, packets, dropped, overlimits] = leaf;
    result.htb = {
      rateBits: parseTcRate(rate),
      ceilBits: parseTcRate(ceil),
      burstBytes: parseTcSize(burst),
      sentBytes: Number(sent),
      packets: Number(packets),
      dropped: Number(dropped),
      overlimits: Number(overlimits),
    };
  }
  const police = /\bpolice\b[^\n]*?\brate (\S+) burst (\S+)/.exec(filters);
  if (police) result.police = { rateBits: parseTcRate(police[1]), burstBytes: parseTcSize(police[2]) };
  const [tx, rx] = bytes.trim().split(/\s+/).filter(Boolean).map(Number);
  if (Number.isFinite(tx)) result.txBytes = tx;
  if (Number.isFinite(rx)) result.rxBytes = rx;
  return result;
}

/** tc rounds rates for display (e.g. 1234567 kbit as "1234Mbit"): equal within 0.5 % */
const near = (a: number, b: number) => Math.abs(a - b) <= Math.max(a, b) * 0.005;
const bits = (kBps: number) => kBps * LIBVIRT_RATE_BYTES * 8;
const mbit = (b: number) => `${Number((b / 1e6).toFixed(3))} Mbit/s`;

/**
 * What the kernel enforces against what libvirt stores, per direction. Each entry says what differs and what
 * shows it; a direction libvirt reports but the kernel does not apply is "not enforced by the host's kernel".
 */
export function kernelMismatches(
  stored: Bandwidth,
  kernel: KernelQos,
  type: string,
  device: string,
  directions: readonly Direction[] = DIRECTIONS,
): string[] {
  const swapped = type === 'direct'; // macvtap: the guest's inbound is the device's ingress
  const shaped: Direction = swapped ? 'outbound' : 'inbound';
  const policed: Direction = swapped ? 'inbound' : 'outbound';
  return [
    ...(directions.includes(shaped) ? shapingProblems(shaped, stored[shaped], kernel, device) : []),
    ...(directions.includes(policed) ? policingProblems(policed, stored[policed], kernel, device) : []),
  ];
}

function shapingProblems(d: Direction, s: DirectionLimit | undefined, kernel: KernelQos, device: string): string[] {
  const htb = kernel.htb;
  if (!s?.average)
    return htb && !s?.floor ? [`No ${d} limit is stored, but ${device} is still shaped at ${mbit(htb.rateBits)}.`] : [];
  if (!htb)
    return [
      `The ${d} limit is not enforced by the host's kernel: ${device} has no HTB class (tc class show dev ${device} shows none).`,
    ];
  const problems: string[] = [];
  if (!near(htb.rateBits, bits(s.average)))
    problems.push(
      `${d} average: libvirt stores ${mbit(bits(s.average))}, the kernel shapes ${device} at ${mbit(htb.rateBits)}.`,
    );
  const ceil = bits(s.peak || s.average);
  if (!near(htb.ceilBits, ceil))
    problems.push(
      `${d} peak: libvirt stores ${mbit(ceil)}, the kernel's ceiling on ${device} is ${mbit(htb.ceilBits)}.`,
    );
  if (s.burst && Math.abs(htb.burstBytes - s.burst * LIBVIRT_BURST_BYTES) > 1024)
    problems.push(
      `${d} burst: libvirt stores ${s.burst} KiB, the kernel's burst on ${device} is ${htb.burstBytes} bytes.`,
    );
  return problems;
}

function policingProblems(d: Direction, p: DirectionLimit | undefined, kernel: KernelQos, device: string): string[] {
  const police = kernel.police;
  if (!p?.average)
    return police ? [`No ${d} limit is stored, but ${device} is still policed at ${mbit(police.rateBits)}.`] : [];
  if (!police) {
    const seen = kernel.ingress ? 'an ingress qdisc but no police filter' : 'no ingress policer';
    return [
      `The ${d} limit (${mbit(bits(p.average))}) is not enforced by the host's kernel: ${device} has ${seen} ` +
        `(tc filter show dev ${device} parent ffff: shows none). libvirt reports the limit, nothing applies it; the host kernel may lack act_police.`,
    ];
  }
  return near(police.rateBits, bits(p.average))
    ? []
    : [
        `${d} average: libvirt stores ${mbit(bits(p.average))}, the kernel polices ${device} at ${mbit(police.rateBits)}.`,
      ];
}

/** Two stored bandwidths equal, field by field (unset = 0). */
export function sameBandwidth(a: Bandwidth, b: Bandwidth): boolean {
  const f = (l: DirectionLimit | undefined) => [l?.average ?? 0, l?.peak ?? 0, l?.burst ?? 0, l?.floor ?? 0].join(',');
  return DIRECTIONS.every(
    (d) => f(a[d]?.average || a[d]?.floor ? a[d] : undefined) === f(b[d]?.average || b[d]?.floor ? b[d] : undefined),
  );
}
