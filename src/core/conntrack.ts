/**
 * Conntrack state as data, for the netfilter backend (conntrack-tools >= 1.4.7). The export lists the flows of the
 * VM's addresses with `-o extended`, which, unlike `-o save`, shows marks and zones; Ferry turns those lines into
 * the `-A` lines `conntrack -R -` loads (it only adds, so a re-run is safe).
 */
import { isIP } from 'node:net';
import type { Argv } from './virsh';

/** The marks the conntrack scripts print (src/remote/scripts/conntrack-*.sh; a unit test keeps them in step). */
export const SNAPSHOT_END = 'ferry-snapshot-end';
/** the gate's first line after SNAPSHOT_END at the go: `ferry-path events` or `ferry-path relisted-<why>` */
export const GATE_PATH_MARK = 'ferry-path';
export const LOADED_MARK = 'ferry-loaded';
/**
 * The kernel's own listing of the table (CONFIG_NF_CONNTRACK_PROCFS, set in Debian's kernels): the fields of
 * `conntrack -L -o extended`, in about half the time (50,000 flows in the lab: 114–151 ms against 228–263 ms), but
 * with IPv6 addresses written out whole and zone=0 shown. The target reads it for its digest when it can.
 */
export const KERNEL_TABLE = '/proc/net/nf_conntrack';

export const LISTED_MARK = 'ferry-listed';

/** `conntrack -R -`: loads `-A` lines from stdin. */
export const importArgv: Argv = ['conntrack', '-R', '-'];

/** conntrack-tools 1.4.7 added `-o save` and `-R`, which the sync relies on */
const MIN_VERSION = [1, 4, 7];

/** What stops a host's conntrack from taking part, from `conntrack --version` (exit code and output), if anything. */
export function conntrackVersionProblem(code: number | null, output: string): string | undefined {
  if (code === 127 || /not found|No such file/i.test(output))
    return 'conntrack-tools is not installed (Debian/Ubuntu: apt install conntrack)';
  const v = /v(\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!v) return `cannot read the conntrack version: ${output.trim() || `exit ${code}`}`;
  const version = v.slice(1).map(Number);
  const differs = version.findIndex((n, i) => n !== MIN_VERSION[i]);
  if (differs >= 0 && version[differs] < MIN_VERSION[differs])
    return `conntrack-tools ${version.join('.')} is too old: Ferry needs ${MIN_VERSION.join('.')} or later (-R and -o save came with it)`;
  return undefined;
}

/**
 * What is wrong with a typed address list, if anything: not addresses at all, none given, or an address the host
 * knows as another running domain's, whose connections would be copied. Addresses nobody is known to hold are the
 * user's word (a host learns guests' addresses from leases and traffic, so its list may be incomplete).
 */
export function addressListProblem(
  text: string,
  others: readonly { name: string; ips: readonly string[] }[] = [],
): string | undefined {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (!parts.length) return 'at least one address';
  const held: string[] = [];
  for (const p of parts) {
    try {
      held.push(machineAddress(assertAddress(p)));
    } catch (e) {
      return (e as Error).message;
    }
  }
  // compared in one form: fd00:0:0::65, FD00::0065 and fd00::65 are one address, ::ffff:10.0.1.5 is 10.0.1.5
  const owners = new Map<string, string>();
  for (const o of others) {
    for (const ip of o.ips) {
      const c = canonicalAddress(ip);
      if (c !== undefined && !owners.has(machineAddress(c))) owners.set(machineAddress(c), o.name);
    }
  }
  for (const [i, p] of parts.entries()) {
    const owner = owners.get(held[i]);
    if (owner !== undefined)
      return `${p} is an address of ${owner}, not of this domain: its flows belong to another machine`;
  }
  return undefined;
}

/** The address as conntrack prints it, or an error naming what is not one. */
export function assertAddress(a: string): string {
  const c = canonicalAddress(a);
  if (c === undefined) throw new Error(`not an IP address: ${JSON.stringify(a)}`);
  return c;
}

/**
 * An IP address written as conntrack prints it, which is how inet_ntop writes it: IPv4 as it is, IPv6 in lower
 * case, leading zeros dropped, the first longest run of two or more zero groups as "::", and an IPv4-mapped (or
 * -compatible) address ending in its dotted quad. Undefined when the text is not one address: node:net decides (no
 * leading zeros in a dotted quad, nothing around it), and a zone index (fe80::1%eth0) is refused too.
 */
export function canonicalAddress(a: string): string | undefined {
  const family = isIP(a);
  if (family === 4) return a;
  if (family !== 6 || a.includes('%')) return undefined;
  const w = ipv6Words(a);
  let best = -1;
  let bestLength = 0;
  for (let i = 0, run = 0; i < 8; i++) {
    run = w[i] === 0 ? run + 1 : 0;
    if (run > bestLength) [best, bestLength] = [i - run + 1, run];
  }
  if (bestLength < 2) best = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (best >= 0 && i >= best && i < best + bestLength) {
      if (i === best) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && best === 0 && (bestLength === 6 || (bestLength === 5 && w[5] === 0xffff)))
      return `${out}${w[6] >> 8}.${w[6] & 255}.${w[7] >> 8}.${w[7] & 255}`;
    out += w[i].toString(16);
  }
  return best >= 0 && best + bestLength === 8 ? `${out}:` : out;
}

/** The 8 groups of a valid IPv6 address (a trailing dotted quad is two of them). */
export function ipv6Words(a: string): number[] {
  const text = a.replace(
    /(\d+)\.(\d+)\.(\d+)\.(\d+)$/,
    (_, b1: string, b2: string, b3: string, b4: string) =>
      `${((+b1 << 8) | +b2).toString(16)}:${((+b3 << 8) | +b4).toString(16)}`,
  );
  const [head, tail] = text.split('::');
  const groups = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  if (tail === undefined) return groups(head);
  return [...groups(head), ...Array<number>(8 - groups(head).length - groups(tail).length).fill(0), ...groups(tail)];
}

/** The address of the machine behind it: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is that IPv4 address. */
function machineAddress(canonical: string): string {
  return canonical.startsWith('::ffff:') && canonical.includes('.') ? canonical.slice(7) : canonical;
}

export interface Flow {
  /** protocol, original tuple and zone: what identifies a flow */
  key: string;
  mark: string;
  /** the `-A` line that recreates it */
  line: string;
  /** the arguments that select it (for `-D`) */
  selector: string;
}

/**
 * One `conntrack -o extended` line as a flow, or undefined for lines that are not flows (or protocols Ferry does
 * not recreate: only tcp, udp, icmp and icmpv6 carry connections worth keeping across a migration).
 */
export function parseExtendedFlow(text: string): Flow | undefined {
  const f = scanFlow(text);
  if (!f) return undefined;
  const flowId = f.proto === 'tcp' || f.proto === 'udp' ? `${f.sport} ${f.dport}` : `${f.type} ${f.code} ${f.id}`;
  const selector = `${f.zone ? `-w ${f.zone} ` : ''}-s ${f.src} -d ${f.dst} -p ${f.proto}${tupleArgs(f)}`;
  return { key: `${f.proto} ${f.src} ${f.dst} ${flowId} ${f.zone || '0'}`, mark: f.mark, line: loadLine(f), selector };
}

/** The `-A` line alone, for a listing streamed into a loader (no key, no selector: nothing kept per flow). */
export function loadLineOf(text: string): string | undefined {
  const f = scanFlow(text);
  return f && loadLine(f);
}

interface ScannedFlow {
  proto: string;
  timeout: string;
  state: string;
  src: string;
  dst: string;
  sport: string;
  dport: string;
  type: string;
  code: string;
  id: string;
  rsrc: string;
  rdst: string;
  rsport: string;
  rdport: string;
  mark: string;
  zone: string;
  unreplied: boolean;
  assured: boolean;
}

/** the original tuple's ports, or its ICMP type, code and id, as conntrack's arguments */
function tupleArgs(f: ScannedFlow): string {
  if (f.proto === 'tcp' || f.proto === 'udp') return ` --sport ${f.sport} --dport ${f.dport}`;
  const p = f.proto === 'icmp' ? '--icmp' : '--icmpv6';
  return ` ${p}-type ${f.type} ${p}-code ${f.code} ${p}-id ${f.id}`;
}

function loadLine(f: ScannedFlow): string {
  const status = f.unreplied ? 'UNSET' : f.assured ? 'SEEN_REPLY,ASSURED' : 'SEEN_REPLY';
  let line = `-A -t ${f.timeout} -u ${status}${f.zone ? ` -w ${f.zone}` : ''} -s ${f.src} -d ${f.dst} -r ${f.rsrc} -q ${f.rdst} -p ${f.proto}${tupleArgs(f)}`;
  if (f.proto === 'tcp' || f.proto === 'udp') line += ` --reply-port-src ${f.rsport} --reply-port-dst ${f.rdport}`;
  if (f.state) line += ` --state ${f.state}`;
  if (f.mark !== '0') line += ` -m ${f.mark}`;
  return line;
}

function scanFlow(text: string): ScannedFlow | undefined {
  // 100,000 lines pass through here per sync, in the extension host: one scan along the line, fields compared in
  // place, only the values kept are sliced out, no arrays, no regular expressions
  let src = '',
    dst = '',
    sport = '',
    dport = '',
    type = '',
    code = '',
    id = '';
  let rsrc = '',
    rdst = '',
    rsport = '',
    rdport = '';
  let proto = '',
    timeout = '',
    state = '';
  let tuple = 0;
  let mark = '0';
  let zone = '';
  let unreplied = false;
  let assured = false;
  let field = 0;
  for (let at = 0, end = 0; at < text.length; at = end + 1, field++) {
    while (text.charCodeAt(at) === 32) at++;
    if (at >= text.length) break;
    end = text.indexOf(' ', at);
    if (end < 0) end = text.length;
    if (field < 5) {
      if (field === 0 && !(end - at === 4 && (text.startsWith('ipv4', at) || text.startsWith('ipv6', at))))
        return undefined;
      if (field === 2) {
        proto = text.slice(at, end);
        if (proto !== 'tcp' && proto !== 'udp' && proto !== 'icmp' && proto !== 'icmpv6') return undefined;
      } else if (field === 4) timeout = text.slice(at, end);
      continue;
    }
    // the original tuple comes first, then the reply tuple with the same keys
    if (field === 5 && proto === 'tcp' && /^[A-Z_]+$/.test(text.slice(at, end))) state = text.slice(at, end);
    if (text.startsWith('src=', at)) {
      if (tuple++ === 0) src = text.slice(at + 4, end);
      else rsrc = text.slice(at + 4, end);
    } else if (text.startsWith('dst=', at)) {
      if (tuple === 1) dst = text.slice(at + 4, end);
      else rdst = text.slice(at + 4, end);
    } else if (text.startsWith('sport=', at)) {
      if (tuple === 1) sport = text.slice(at + 6, end);
      else rsport = text.slice(at + 6, end);
    } else if (text.startsWith('dport=', at)) {
      if (tuple === 1) dport = text.slice(at + 6, end);
      else rdport = text.slice(at + 6, end);
    } else if (text.startsWith('mark=', at)) mark = text.slice(at + 5, end);
    else if (text.startsWith('zone=', at)) zone = text.slice(at + 5, end);
    else if (text.startsWith('[UNREPLIED]', at) && end - at === 11) unreplied = true;
    else if (text.startsWith('[ASSURED]', at) && end - at === 9) assured = true;
    else if (tuple === 1 && text.startsWith('type=', at)) type = text.slice(at + 5, end);
    else if (tuple === 1 && text.startsWith('code=', at)) code = text.slice(at + 5, end);
    else if (tuple === 1 && text.startsWith('id=', at)) id = text.slice(at + 3, end);
  }
  if (field < 6 || !src || !dst || !rsrc || !rdst) return undefined;
  return {
    proto,
    timeout,
    state,
    src,
    dst,
    sport,
    dport,
    type,
    code,
    id,
    rsrc,
    rdst,
    rsport,
    rdport,
    mark,
    zone,
    unreplied,
    assured,
  };
}

export interface ConntrackExport {
  /** each flow once, in listing order */
  flows: Flow[];
  /** listed lines Ferry does not recreate (other protocols) */
  skipped: number;
}

export function parseExport(stdout: string): ConntrackExport {
  const seen = new Set<string>();
  const flows: Flow[] = [];
  let skipped = 0;
  for (const text of stdout.split('\n')) {
    if (!text.trim()) continue;
    const flow = parseExtendedFlow(text);
    if (!flow) {
      skipped++;
      continue;
    }
    if (seen.has(flow.key)) continue; // a flow between two of the addresses is listed twice
    seen.add(flow.key);
    flows.push(flow);
  }
  return { flows, skipped };
}

/**
 * The input `conntrack -R -` reads for these flows. `-A` only adds: a flow the host already holds keeps its state
 * and mark (measured with conntrack-tools 1.4.7, and `-U` is refused in a restore). So a sync never touches what the
 * target holds, and a re-run is safe.
 */
export function loadText(flows: readonly Flow[]): string {
  return flows.map((f) => `${f.line}\n`).join('');
}

/**
 * The same, replacing each flow the host may already hold in another state: `-D` then `-A` in one restore (a `-D`
 * of a flow that is not there is a no-op). For the switchover gate, whose changed flows must win on the target.
 */
export function replaceText(flows: readonly Flow[]): string {
  return flows.map((f) => `-D ${f.selector}\n${f.line}\n`).join('');
}

/**
 * How the gate found the flows changed since its first listing: from the table's events, or by listing it again
 * (the kernel dropped events, the event reader ended, or its own flow's event did not come within a second).
 */
export type GatePath = 'events' | 'relisted-enobufs' | 'relisted-reader-ended' | 'relisted-sentinel-late';

const GATE_PATHS: Record<GatePath, string> = {
  events: 'from the events since the bulk copy',
  'relisted-enobufs': 'listed again: the kernel dropped events (ENOBUFS)',
  'relisted-reader-ended': 'listed again: the event reader had ended',
  'relisted-sentinel-late': "listed again: the gate's own flow's event took over a second",
};

/** The gate's output after SNAPSHOT_END: its path line taken out of the flows' lines. */
export function splitGatePath(text: string): { path?: GatePath; flows: string } {
  const mark = new RegExp(`^${GATE_PATH_MARK} ([a-z-]+)\n`, 'm');
  const found = mark.exec(text);
  if (!found) return { flows: text };
  const path = isGatePath(found[1]) ? found[1] : undefined;
  return { path, flows: text.slice(0, found.index) + text.slice(found.index + found[0].length) };
}

export const isGatePath = (s: unknown): s is GatePath => typeof s === 'string' && Object.hasOwn(GATE_PATHS, s);

/** A gate path as the log and the bench say it. */
export const gatePathText = (path: string) => (isGatePath(path) ? GATE_PATHS[path] : path);
