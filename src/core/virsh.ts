/**
 * virsh command builders (argv arrays, quoted later in one place by the transport) and parsers of virsh output.
 * Domains are addressed by UUID in commands: names come from hosts and users and may hold anything (the QEMU driver
 * refuses only '/'), line breaks included; UUIDs are plain hex.
 */
import type { Domain, LifecycleAction } from './domain';
import { domainStateFrom, isUuid } from './domain';
import { isPodUri } from './kubevirt';

export type Argv = readonly string[];

export const DEFAULT_LIBVIRT_URI = 'qemu:///system';

/**
 * The one way a virsh argv is made: quiet, against the configured libvirt URI; read-only against a KubeVirt pod's
 * libvirt, so that libvirt itself refuses anything but reading there.
 */
export const virsh = (uri: string, ...args: string[]): Argv =>
  isPodUri(uri) ? ['virsh', '-q', '-r', '-c', uri, ...args] : ['virsh', '-q', '-c', uri, ...args];

/** what the listing asks of each domain (the listing shell too, one domain at a time) */
export const DOMSTATS_WORDS = ['domstats', '--raw', '--state', '--vcpu', '--balloon', '--nowait'] as const;

/**
 * The UUIDs alone, then UUID and name, then each domain's state, vCPUs and memory: one virsh process and one libvirt
 * connection for the whole listing. The first listing tells which lines of the second start a domain, since a name
 * can hold a line break (libvirt stores a CR in a name raw in its XML, and reading it back after the domain stops
 * turns it into LF). --nowait: a domain in a migration job would otherwise hold up the listing until the job ends.
 * statsMark goes between the listings and the statistics: one no domain's name can hold (services/inventory
 * newStatsMark).
 */
export const listDomainsArgv = (uri: string, statsMark: string): Argv =>
  virsh(
    uri,
    `list --all --uuid; echo @names; list --all --uuid --name; echo ${statsMark}; ${DOMSTATS_WORDS.join(' ')}`,
  );

/**
 * listDomainsArgv's output in its two parts: the listings (for parseDomainList) and domstats' (parseDomstats);
 * undefined without the mark between them. virsh -q's echo ends no line (the mark runs into what follows it).
 */
export function splitListing(text: string, statsMark: string): { listings: string; stats: string } | undefined {
  const at = text.indexOf(statsMark);
  if (at < 0) return undefined;
  return { listings: text.slice(0, at), stats: text.slice(at + statsMark.length).replace(/^\n/, '') };
}
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

export function assertUuid(uuid: string): void {
  // either case, as virsh takes it
  if (!isUuid(uuid.toLowerCase())) throw new Error(`not a domain UUID: ${JSON.stringify(uuid)}`);
}

/**
 * listDomainsArgv's output: per domain its UUID and its name, the name intact whatever it holds (spaces, quotes, CR,
 * U+2028, even LF): a line starts a domain only if it begins with a listed UUID not yet seen; any other line
 * continues the name before it.
 */
export function parseDomainList(text: string): { uuid: string; name: string }[] {
  const at = text.indexOf('@names');
  const listed =
    at < 0
      ? undefined
      : new Set(
          text
            .slice(0, at)
            .split('\n')
            .map((l) => l.trim().toLowerCase())
            .filter(isUuid),
        );
  const body = at < 0 ? text : text.slice(at + '@names'.length).replace(/^\n/, '');
  const lines = body.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const out: { uuid: string; name: string }[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    const m = /^([0-9a-f-]{36}) (.*)$/is.exec(line); // s: a name may hold U+2028/U+2029 or CR
    const uuid = m?.[1].toLowerCase();
    if (m && isUuid(m[1]) && (!listed || (listed.has(uuid!) && !seen.has(uuid!)))) {
      out.push({ uuid: uuid!, name: m[2] });
      seen.add(uuid!);
    } else if (out.length && listed) out[out.length - 1].name += `\n${line}`;
  }
  return out;
}

/** listDomainsArgv's first listing: every domain's UUID */
export function listedUuids(text: string): string[] {
  const at = text.indexOf('@names');
  return (at < 0 ? '' : text.slice(0, at))
    .split('\n')
    .map((l) => l.trim().toLowerCase())
    .filter(isUuid);
}

/**
 * Whether a name in listDomainsArgv's output holds a line that starts with a UUID: then the lines cannot tell which
 * domain starts where (a name made to read `x\n<another domain's UUID> y` would claim its UUID).
 */
export function listingIsAmbiguous(text: string): boolean {
  const listed = new Set(listedUuids(text));
  const at = text.indexOf('@names');
  if (at < 0) return false;
  const lines = text
    .slice(at + '@names'.length)
    .replace(/^\n/, '')
    .split('\n');
  const uuidLike = lines.map((l) => l.slice(0, 36).toLowerCase()).filter((u, i) => lines[i][36] === ' ' && isUuid(u));
  const starts = uuidLike.filter((u) => listed.has(u));
  // a UUID not listed: a name's line, or a domain defined between the two listings (then not its name's end either)
  return starts.length !== uuidLike.length || starts.length !== listed.size || new Set(starts).size !== starts.length;
}

export interface DomainStats {
  state: number;
  reason: number;
  vcpus?: number;
  memoryKiB?: number;
  fields: Map<string, string>;
}

/**
 * `virsh domstats --raw`: blocks of `Domain: 'NAME'` followed by indented key=value lines, in order. The name sits
 * between the first and the last quote of its line (it may itself contain quotes); a name with line breaks spans
 * lines up to the first field line. A name can also be made to read as the end of a block and the start of
 * another's: statsNameEachOnce tells.
 */
export function domstatsBlocks(text: string): { name: string; stats: DomainStats }[] {
  const blocks: { name: string; fields: Map<string, string> }[] = [];
  let fields: Map<string, string> | undefined;
  let naming: string | undefined;
  const named = () => {
    if (naming !== undefined && naming.endsWith("'"))
      blocks.push({ name: naming.slice(0, -1), fields: (fields = new Map()) });
    naming = undefined;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith("Domain: '")) {
      named();
      fields = undefined;
      naming = line.slice(9);
      continue;
    }
    const m = /^\s+([\w.]+)=(.*)$/s.exec(line);
    if (m) {
      named();
      fields?.set(m[1], m[2]);
    } else if (naming !== undefined) naming += `\n${line}`;
  }
  named();
  return blocks.map(({ name, fields: f }) => {
    const num = (key: string) => (f.has(key) ? Number(f.get(key)) : undefined);
    const stats = {
      state: num('state.state') ?? 0,
      reason: num('state.reason') ?? 0,
      vcpus: num('vcpu.current'),
      // balloon.maximum is the configured memory (KiB); balloon.current may be lower when ballooned
      memoryKiB: num('balloon.maximum') ?? num('balloon.current'),
      fields: f,
    };
    return { name, stats };
  });
}

/** domstats' blocks by name (a name twice: its last block) */
export function parseDomstats(text: string): Map<string, DomainStats> {
  return new Map(domstatsBlocks(text).map((b) => [b.name, b.stats]));
}

/**
 * Whether domstats' blocks name each of the listed domains once and nothing else. A name can add headers and fields
 * inside its own block, never take away another domain's: a block made up for another name shows as that name twice,
 * one that hides its own as a block too few.
 */
export function statsNameEachOnce(blocks: readonly { name: string }[], names: readonly string[]): boolean {
  const listed = new Set(names);
  const seen = new Set<string>();
  for (const { name } of blocks) {
    if (!listed.has(name) || seen.has(name)) return false;
    seen.add(name);
  }
  return seen.size === listed.size;
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
        heardIps: [],
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
  const m = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d{4}): event '([\w-]+)' for domain '(.*)':(?: (.*))?$/s.exec(
    line,
  );
  if (!m) return undefined;
  return { time: m[1], type: m[2], domain: m[3], detail: m[4] ?? '' };
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** A domain's addresses by how they are known: leased (proof of ownership) or only heard (neighbour table). */
export interface DomainAddresses {
  leased: string[];
  heard: string[];
}

/** The output of addressesArgv (src/remote/addresses.ts): per domain UUID its DHCP leases, and the neighbours matching its MACs. */
export function parseAddresses(text: string): Map<string, DomainAddresses> {
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
  const out = new Map<string, DomainAddresses>();
  for (const [u, ms] of macs) {
    const leased = [...new Set(leases.get(u)!)];
    out.set(u, {
      leased,
      heard: [...new Set(ms.flatMap((m) => neighbours.get(m) ?? []))].filter((ip) => !leased.includes(ip)),
    });
  }
  return out;
}
