/**
 * Conntrack state as data, for the netfilter backend (conntrack-tools >= 1.4.7). The export lists each address
 * as original source and destination with `-o extended`, which, unlike `-o save`, shows marks and zones; Ferry
 * turns those lines into the `-A` lines `conntrack -R -` loads (add-or-update, so a re-run is safe). One listing
 * per direction instead of a save listing plus an extended one halves the table scans and the bytes moved.
 */
import type { Argv } from './virsh';

export function exportArgv(addresses: readonly string[]): Argv {
  for (const a of addresses) assertAddress(a);
  return ['sh', '-c', 'for a; do conntrack -L -o extended -s "$a"; conntrack -L -o extended -d "$a"; done', 'ferry-conntrack', ...addresses];
}

/** `conntrack -R -`: loads `-A` lines from stdin. */
export const importArgv: Argv = ['conntrack', '-R', '-'];

/** conntrack-tools 1.4.7 added `-o save` and `-R`, which the sync relies on */
const MIN_VERSION = [1, 4, 7];

/** What stops a host's conntrack from taking part, from `conntrack --version` (exit code and output), if anything. */
export function conntrackVersionProblem(code: number | null, output: string): string | undefined {
  if (code === 127 || /not found|No such file/i.test(output)) return 'conntrack-tools is not installed (Debian/Ubuntu: apt install conntrack)';
  const v = /v(\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!v) return `cannot read the conntrack version: ${output.trim() || `exit ${code}`}`;
  const version = v.slice(1).map(Number);
  const differs = version.findIndex((n, i) => n !== MIN_VERSION[i]);
  if (differs >= 0 && version[differs] < MIN_VERSION[differs]) return `conntrack-tools ${version.join('.')} is too old: Ferry needs ${MIN_VERSION.join('.')} or later (-R and -o save came with it)`;
  return undefined;
}

/**
 * What is wrong with a typed address list for a domain, if anything: not addresses at all, none given, or (when
 * libvirt knows the domain's addresses) addresses of some other machine, whose connections would be copied.
 */
export function addressListProblem(text: string, domain?: { name: string; ips: readonly string[] }): string | undefined {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (!parts.length) return 'at least one address';
  for (const p of parts) {
    try {
      assertAddress(p);
    } catch (e) {
      return (e as Error).message;
    }
  }
  const foreign = domain ? addressesNotOf(parts, domain.ips) : [];
  if (foreign.length) return `${foreign.join(', ')} ${foreign.length > 1 ? 'are not addresses' : 'is not an address'} of ${domain!.name} (libvirt reports ${domain!.ips.join(', ')}): its flows belong to another machine`;
  return undefined;
}

/** Typed addresses that are not among the domain's own (when libvirt knows them): copying those would move another VM's flows. */
export function addressesNotOf(typed: readonly string[], domainAddresses: readonly string[]): string[] {
  if (!domainAddresses.length) return [];
  const own = new Set(domainAddresses.map((a) => a.toLowerCase()));
  return typed.filter((a) => !own.has(a.toLowerCase()));
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
export function assertAddress(a: string): void {
  const v4 = IPV4.exec(a);
  const ok = v4 ? v4.slice(1).every((o) => Number(o) <= 255) : /^[0-9a-f:]+$/i.test(a) && a.includes(':') && a.length <= 45;
  if (!ok) throw new Error(`not an IP address: ${JSON.stringify(a)}`);
}

export interface Flow {
  /** protocol, original tuple and zone: what identifies a flow */
  key: string;
  mark: string;
  /** the `-A` line that recreates it */
  line: string;
}

/**
 * One `conntrack -o extended` line as a flow, or undefined for lines that are not flows (or protocols Ferry does
 * not recreate: only tcp, udp, icmp and icmpv6 carry connections worth keeping across a migration).
 */
export function parseExtendedFlow(text: string): Flow | undefined {
  const f = text.trim().split(/\s+/);
  if (f.length < 6 || (f[0] !== 'ipv4' && f[0] !== 'ipv6')) return undefined;
  const proto = f[2];
  if (!['tcp', 'udp', 'icmp', 'icmpv6'].includes(proto)) return undefined;
  const timeout = f[4];
  const state = proto === 'tcp' && /^[A-Z_]+$/.test(f[5]) ? f[5] : undefined;
  const orig: Record<string, string> = {};
  const reply: Record<string, string> = {};
  const flags = new Set<string>();
  let mark = '0';
  let zone = '';
  for (const field of f.slice(5)) {
    if (field.startsWith('[')) flags.add(field.slice(1, -1));
    const eq = field.indexOf('=');
    if (eq < 0) continue;
    const k = field.slice(0, eq);
    const v = field.slice(eq + 1);
    if (k === 'mark') mark = v;
    else if (k === 'zone') zone = v;
    else if (k in orig) reply[k] = v;
    else orig[k] = v;
  }
  if (!orig.src || !orig.dst || !reply.src || !reply.dst) return undefined;
  const status = flags.has('UNREPLIED') ? 'UNSET' : flags.has('ASSURED') ? 'SEEN_REPLY,ASSURED' : 'SEEN_REPLY';
  const parts = ['-A', '-t', timeout, '-u', status];
  if (zone) parts.push('-w', zone);
  parts.push('-s', orig.src, '-d', orig.dst, '-r', reply.src, '-q', reply.dst, '-p', proto);
  let id: string;
  if (proto === 'tcp' || proto === 'udp') {
    parts.push('--sport', orig.sport, '--dport', orig.dport, '--reply-port-src', reply.sport, '--reply-port-dst', reply.dport);
    id = `${orig.sport} ${orig.dport}`;
  } else {
    const p = proto === 'icmp' ? '--icmp' : '--icmpv6';
    parts.push(`${p}-type`, orig.type, `${p}-code`, orig.code, `${p}-id`, orig.id);
    id = `${orig.type} ${orig.code} ${orig.id}`;
  }
  if (state) parts.push('--state', state);
  if (mark !== '0') parts.push('-m', mark);
  return { key: `${proto} ${orig.src} ${orig.dst} ${id} ${zone || '0'}`, mark, line: parts.join(' ') };
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

/** The input `conntrack -R -` reads for these flows. */
export function loadText(flows: readonly Flow[]): string {
  return flows.map((f) => `${f.line}\n`).join('');
}
