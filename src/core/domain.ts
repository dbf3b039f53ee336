import type { KubevirtPod } from './kubevirt';
import { kubevirtDomainName } from './kubevirt';

/** A libvirt domain as Ferry shows it. Units are in the names: memory in KiB as libvirt reports it. */
export type DomainState =
  'running' | 'blocked' | 'paused' | 'shutdown' | 'shutoff' | 'crashed' | 'pmsuspended' | 'migrating' | 'nostate';

export interface Domain {
  uuid: string;
  name: string;
  state: DomainState;
  /** libvirt's state reason code (virDomain*Reason of the state), kept for tooltips and diagnosis */
  stateReason: number;
  vcpus?: number;
  memoryKiB?: number;
  /** IP addresses that are provably the domain's: DHCP leases of its MACs */
  ips: string[];
  /**
   * addresses the host's neighbour table ties to one of its MACs, and nothing more: any guest can answer ARP for any
   * address, so these are shown as heard, never taken as the domain's (not prefilled, not used to refuse another's)
   */
  heardIps: string[];
  /** set when KubeVirt owns it: the virt-launcher pod it runs in (Ferry only reads such a domain) */
  kubevirt?: KubevirtPod;
}

/** virDomainState numbers as printed by `virsh domstats --raw` (state.state). */
const STATE_BY_NUMBER: Record<number, DomainState> = {
  0: 'nostate',
  1: 'running',
  2: 'blocked',
  3: 'paused',
  4: 'shutdown',
  5: 'shutoff',
  6: 'crashed',
  7: 'pmsuspended',
};

/** VIR_DOMAIN_PAUSED_MIGRATION and VIR_DOMAIN_PAUSED_POSTCOPY: paused because a migration is switching over. */
const PAUSED_BY_MIGRATION = new Set([2, 12]);

export function domainStateFrom(state: number, reason: number): DomainState {
  const named = STATE_BY_NUMBER[state] ?? 'nostate';
  if (named === 'paused' && PAUSED_BY_MIGRATION.has(reason)) return 'migrating';
  return named;
}

/**
 * What a libvirt lifecycle event says by itself about its domain (the event's type and detail as `virsh event`
 * prints them, e.g. "Stopped Destroyed"): the state it is in now, that it is gone, or that it was defined (added or
 * its configuration changed; nothing about its state). Undefined when the event changes nothing shown.
 */
export function lifecycleEffect(detail: string): DomainState | 'removed' | 'defined' | undefined {
  const [type, ...rest] = detail.split(' ');
  const migration = /^(Migrated|Post-copy)/.test(rest.join(' '));
  switch (type) {
    case 'Started':
      return migration ? 'migrating' : 'running'; // an incoming migration's domain starts paused until it is over
    case 'Resumed':
      return 'running';
    case 'Suspended':
      return migration ? 'migrating' : 'paused';
    case 'Stopped':
      return 'shutoff';
    case 'Crashed':
      return 'crashed';
    case 'PMSuspended':
      return 'pmsuspended';
    case 'Undefined':
      return 'removed';
    case 'Defined':
      return 'defined';
    default:
      return undefined; // Shutdown: the guest has shut down; Stopped follows
  }
}

/** Which lifecycle actions make sense in each state; drives context menus (via contextValue) and pickers. */
export type LifecycleAction = 'start' | 'shutdown' | 'reboot' | 'forceOff' | 'pause' | 'resume';

const ACTIONS_BY_STATE: Record<DomainState, LifecycleAction[]> = {
  running: ['shutdown', 'reboot', 'forceOff', 'pause'],
  blocked: ['shutdown', 'reboot', 'forceOff', 'pause'],
  paused: ['resume', 'forceOff'],
  shutdown: ['forceOff'],
  shutoff: ['start'],
  crashed: ['start', 'forceOff'],
  pmsuspended: ['forceOff'],
  migrating: [],
  nostate: [],
};

export function actionsFor(state: DomainState): readonly LifecycleAction[] {
  return ACTIONS_BY_STATE[state];
}

const ACTIVE = new Set<DomainState>(['running', 'paused', 'migrating', 'blocked']);

/**
 * states in which a domain's QEMU runs and holds its disks: shutting down, suspended to RAM, and crashed too (libvirt
 * shows a crash as crashed only with on_crash=preserve, which keeps QEMU)
 */
const HOLDS_ITS_DISKS = new Set<DomainState>([...ACTIVE, 'shutdown', 'pmsuspended', 'crashed']);

const NO_DOMAINS: readonly Domain[] = [];

/**
 * Per UUID, the hosts where a domain of it runs and holds its disks (runsElsewhere's map), kept between calls: a
 * host's part is worked out again only when its listing changed (the inventory makes a new array for a change), and
 * the map is made anew only when the domains running on some host did (until then the same object: callers may
 * keep what they derived from it).
 */
export class RunningIndex {
  private readonly holdingOf = new WeakMap<readonly Domain[], readonly string[]>();
  private parts = new Map<string, readonly string[]>();
  private where = new Map<string, string[]>();

  /** the index for these hosts (those whose listing is current: the connected ones) */
  update(hosts: readonly { alias: string; domains?: readonly Domain[] }[]): ReadonlyMap<string, readonly string[]> {
    const parts = new Map(hosts.map((h) => [h.alias, this.holding(h.domains ?? NO_DOMAINS)] as const));
    if (sameParts(this.parts, parts)) return this.where;
    this.parts = parts;
    this.where = new Map();
    for (const [alias, uuids] of parts)
      for (const uuid of uuids) {
        const aliases = this.where.get(uuid);
        if (aliases) aliases.push(alias);
        else this.where.set(uuid, [alias]);
      }
    return this.where;
  }

  private holding(domains: readonly Domain[]): readonly string[] {
    let uuids = this.holdingOf.get(domains);
    if (!uuids) {
      uuids = domains.filter((d) => HOLDS_ITS_DISKS.has(d.state)).map((d) => d.uuid);
      this.holdingOf.set(domains, uuids);
    }
    return uuids;
  }
}

function sameParts(a: ReadonlyMap<string, readonly string[]>, b: ReadonlyMap<string, readonly string[]>): boolean {
  if (a.size !== b.size) return false;
  for (const [alias, x] of b) {
    const y = a.get(alias);
    if (!y || (x !== y && (x.length !== y.length || x.some((v, i) => v !== y[i])))) return false;
  }
  return true;
}

/**
 * The other host where a domain of this UUID runs, if any (`running`: RunningIndex's map). A migration's source keeps
 * the domain's definition, shut off, unless it was migrated with "undefine on source": starting that would boot a
 * second copy on the same disks. The index covers the hosts whose listing is current (connected ones): a host that
 * went down may have taken the domain with it, and starting its definition elsewhere is then the way back.
 */
export function runsElsewhere(
  running: ReadonlyMap<string, readonly string[]>,
  alias: string,
  uuid: string,
): string | undefined {
  return running.get(uuid)?.find((a) => a !== alias);
}

/** The other host where this domain runs, when on this host it is only its definition (RunningIndex's map). */
export function leftOverFrom(
  running: ReadonlyMap<string, readonly string[]>,
  alias: string,
  domain: Domain,
): string | undefined {
  return HOLDS_ITS_DISKS.has(domain.state) ? undefined : runsElsewhere(running, alias, domain.uuid);
}

/** localeCompare's order; one collator, made once: a tree of a thousand domains is sorted at every redraw */
const byLocale = new Intl.Collator().compare;

/** The tree's order: running (paused, migrating) domains first, then by name; a refresh does not reshuffle it. */
export function treeOrder(a: Domain, b: Domain): number {
  return (
    Number(ACTIVE.has(b.state)) - Number(ACTIVE.has(a.state)) || byLocale(a.name, b.name) || byLocale(a.uuid, b.uuid)
  );
}

function sameDomain(a: Domain, b: Domain): boolean {
  const sameList = (x: readonly string[], y: readonly string[]) =>
    x.length === y.length && x.every((v, i) => v === y[i]);
  return (
    a.uuid === b.uuid &&
    a.name === b.name &&
    a.state === b.state &&
    a.stateReason === b.stateReason &&
    a.vcpus === b.vcpus &&
    a.memoryKiB === b.memoryKiB &&
    sameList(a.ips, b.ips) &&
    sameList(a.heardIps, b.heardIps)
  );
}

/**
 * `next` with each domain that did not change replaced by its object in `previous`, and `previous` itself when
 * nothing changed: a listing that confirms what is shown redraws nothing (a redrawn host drops its rows in
 * VS Code until they are fetched again, and a right-click landing then loses its domain).
 */
export function keepUnchanged(previous: readonly Domain[] | undefined, next: Domain[]): Domain[] {
  if (!previous) return next;
  const byUuid = new Map(previous.map((d) => [d.uuid, d]));
  const kept = next.map((d) => {
    const old = byUuid.get(d.uuid);
    return old && sameDomain(old, d) ? old : d;
  });
  return kept.length === previous.length && kept.every((d, i) => d === previous[i]) ? (previous as Domain[]) : kept;
}

/** A domain UUID as libvirt prints it (lowercase hex, 8-4-4-4-12): the one form Ferry takes from hosts and files. */
export const isUuid = (v: unknown): v is string =>
  typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(v);

/** libvirt's state names in its status files */
const STATUS_STATES: Partial<Record<string, DomainState>> = {
  nostate: 'nostate',
  running: 'running',
  blocked: 'blocked',
  paused: 'paused',
  shutdown: 'shutdown',
  shutoff: 'shutoff',
  crashed: 'crashed',
  pmsuspended: 'pmsuspended',
};

/** The pod's domain as its status file says, named as KubeVirt names it. */
export function domainFromPodStatus(pod: KubevirtPod): Domain | undefined {
  const s = pod.status;
  if (!s) return undefined;
  const state = STATUS_STATES[s.state] ?? 'nostate';
  return {
    uuid: s.uuid,
    name: kubevirtDomainName(pod),
    // paused for its migration's switchover (libvirt's reasons "migration", "postcopy")
    state: state === 'paused' && /^(migration|postcopy)/.test(s.reason) ? 'migrating' : state,
    stateReason: 0,
    vcpus: s.vcpus,
    memoryKiB: s.memoryKiB,
    ips: [],
    heardIps: [],
    kubevirt: pod,
  };
}
