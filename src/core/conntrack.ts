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
