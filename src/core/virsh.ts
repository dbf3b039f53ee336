/**
 * virsh command builders (argv arrays, quoted later in one place by the transport) and parsers of virsh output.
 * Domains are addressed by UUID in commands: names come from hosts and users and may hold anything but '/' and
 * newlines; UUIDs are plain hex.
 */
import type { Domain, LifecycleAction } from './domain';
import { domainStateFrom } from './domain';

export type Argv = readonly string[];

export const DEFAULT_LIBVIRT_URI = 'qemu:///system';

const virsh = (uri: string, ...args: string[]): Argv => ['virsh', '-q', '-c', uri, ...args];

export const listDomainsArgv = (uri: string): Argv => virsh(uri, 'list', '--all', '--uuid', '--name');
// --nowait: a domain in a migration job would otherwise hold up the whole listing until the job ends
export const domstatsArgv = (uri: string): Argv => virsh(uri, 'domstats', '--raw', '--state', '--vcpu', '--balloon', '--nowait');
export const eventsArgv = (uri: string): Argv => virsh(uri, 'event', '--all', '--loop', '--timestamp');

const VIRSH_VERB: Record<LifecycleAction, string> = {
  start: 'start',
  shutdown: 'shutdown',
  reboot: 'reboot',
  forceOff: 'destroy',
  pause: 'suspend',
  resume: 'resume',
};

export function lifecycleArgv(uri: string, action: LifecycleAction, uuid: string): Argv {
  assertUuid(uuid);
  return virsh(uri, VIRSH_VERB[action], uuid);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function assertUuid(uuid: string): void {
  if (!UUID.test(uuid)) throw new Error(`not a domain UUID: ${JSON.stringify(uuid)}`);
}

/** `virsh list --all --uuid --name`: one "UUID NAME" per line; the name is the rest of the line, spaces and all. */
export function parseDomainList(text: string): { uuid: string; name: string }[] {
  const out: { uuid: string; name: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f-]{36}) (.+)$/i.exec(line);
    if (m && UUID.test(m[1])) out.push({ uuid: m[1].toLowerCase(), name: m[2] });
  }
  return out;
}

export interface DomainStats {
  state: number;
  reason: number;
  vcpus?: number;
  memoryKiB?: number;
  fields: Map<string, string>;
}

/**
 * `virsh domstats --raw`: blocks of `Domain: 'NAME'` followed by indented key=value lines. The name sits between
 * the first and the last quote of its line (it may itself contain quotes).
 */
export function parseDomstats(text: string): Map<string, DomainStats> {
  const blocks = new Map<string, Map<string, string>>();
  let fields: Map<string, string> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith("Domain: '") && line.endsWith("'") && line.length >= 10) {
      fields = new Map();
      blocks.set(line.slice(9, -1), fields);
      continue;
    }
    const m = /^\s+([\w.]+)=(.*)$/.exec(line);
    if (m && fields) fields.set(m[1], m[2]);
  }
  const out = new Map<string, DomainStats>();
  for (const [name, f] of blocks) {
    const num = (key: string) => (f.has(key) ? Number(f.get(key)) : undefined);
    out.set(name, {
      state: num('state.state') ?? 0,
      reason: num('state.reason') ?? 0,
      vcpus: num('vcpu.current'),
      // balloon.maximum is the configured memory (KiB); balloon.current may be lower when ballooned
      memoryKiB: num('balloon.maximum') ?? num('balloon.current'),
      fields: f,
    });
  }
  return out;
}

/** Join the list (UUIDs) with domstats (by name) into the domains Ferry shows, sorted by name. */
export function domainsFrom(list: { uuid: string; name: string }[], stats: Map<string, DomainStats>): Domain[] {
  return list
    .map(({ uuid, name }) => {
      const s = stats.get(name);
      return {
        uuid,
        name,
        state: s ? domainStateFrom(s.state, s.reason) : 'nostate',
        stateReason: s?.reason ?? 0,
        vcpus: s?.vcpus,
        memoryKiB: s?.memoryKiB,
        ips: [],
      } satisfies Domain;
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export interface VirshEvent {
  /** host timestamp as printed by virsh, e.g. "2026-11-22 02:02:09.148+0000" */
  time: string;
  type: string;
  domain: string;
  detail: string;
}

/**
 * One line of `virsh event --all --loop --timestamp`:
 * `2026-11-22 02:02:09.148+0000: event 'lifecycle' for domain 'NAME': Stopped Destroyed`.
 * Continuation lines of multi-line events (tab-indented key: value pairs) return undefined.
 */
export function parseEventLine(line: string): VirshEvent | undefined {
  const m = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d{4}): event '([\w-]+)' for domain '(.*)':(?: (.*))?$/.exec(line);
  if (!m) return undefined;
  return { time: m[1], type: m[2], domain: m[3], detail: m[4] ?? '' };
}

const ADDRESSES_SCRIPT = `uri=$1; shift
for u; do
  echo "@domain $u"; virsh -q -c "$uri" domiflist "$u" 2>/dev/null
  echo "@leases"; virsh -q -c "$uri" domifaddr "$u" --source lease 2>/dev/null
done
echo "@neighbours"; ip -4 neigh show 2>/dev/null
exit 0`;

/**
 * One remote run for the IP addresses of running domains: each one's interfaces (MACs) and DHCP leases, then the
 * host's IPv4 neighbour table. Ferry reads the neighbours itself rather than `domifaddr --source arp`, which fails
 * on some libvirt/kernel pairs ("internal error: wrong nlmsg len", libvirt 9.0 on the lab's kernel).
 */
export function addressesArgv(uri: string, uuids: readonly string[]): Argv {
  for (const u of uuids) assertUuid(u);
  return ['sh', '-c', ADDRESSES_SCRIPT, 'ferry-addresses', uri, ...uuids];
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** The output of addressesArgv: per domain UUID its addresses, leases first, then neighbours matching its MACs. */
export function parseAddresses(text: string): Map<string, string[]> {
  const macs = new Map<string, string[]>();
  const leases = new Map<string, string[]>();
  const neighbours = new Map<string, string[]>(); // MAC → IPv4 addresses
  let section = '';
  let uuid = '';
  for (const line of text.split('\n')) {
    const tokens = line.trim().split(/\s+/).filter(Boolean);
    if (!tokens.length) continue;
    if (tokens[0] === '@domain') {
      uuid = (tokens[1] ?? '').toLowerCase();
      section = 'interfaces';
      macs.set(uuid, []);
      leases.set(uuid, []);
    } else if (tokens[0] === '@leases' || tokens[0] === '@neighbours') {
      section = tokens[0].slice(1);
    } else if (section === 'interfaces') {
      // "vnet16   bridge   br0   virtio   52:54:00:00:01:64"
      const mac = tokens.at(-1)!;
      if (MAC.test(mac)) macs.get(uuid)!.push(mac.toLowerCase());
    } else if (section === 'leases') {
      // "vnet0  52:54:00:8a:1b:2c  ipv4  192.168.122.45/24" (further addresses of an interface: "-  -  ipv4 …")
      if (tokens.length >= 4 && /^ipv[46]$/.test(tokens[2])) leases.get(uuid)!.push(tokens[3].replace(/\/\d+$/, ''));
    } else if (section === 'neighbours') {
      // "10.0.1.100 dev br0 lladdr 52:54:00:00:01:64 STALE" (FAILED and INCOMPLETE entries have no lladdr)
      const at = tokens.indexOf('lladdr');
      const state = tokens.at(-1)!;
      if (at > 0 && MAC.test(tokens[at + 1] ?? '') && state !== 'FAILED' && state !== 'INCOMPLETE') {
        const mac = tokens[at + 1].toLowerCase();
        neighbours.set(mac, [...(neighbours.get(mac) ?? []), tokens[0]]);
      }
    }
  }
  const out = new Map<string, string[]>();
  for (const [u, ms] of macs) out.set(u, [...new Set([...leases.get(u)!, ...ms.flatMap((m) => neighbours.get(m) ?? [])])]);
  return out;
}
