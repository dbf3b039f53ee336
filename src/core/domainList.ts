/**
 * The domains of one host as a pure reducer: events in (a lifecycle effect, a listing, domains identified by the light
 * listing), the list out. A listing answers as of its start, so the lifecycle events applied since it started are kept
 * in a numbered journal and applied to it again, in order. No timers, no I/O: HostInventory does the scheduling.
 */
import type { Domain, DomainState } from './domain';
import { keepUnchanged } from './domain';

/** what an event did to the domains shown; `added`: a domain the light listing identified */
export type DomainEffect = DomainState | 'removed' | 'defined' | { added: Domain };

export interface JournalEntry {
  n: number;
  name: string;
  effect: DomainEffect;
}

export interface DomainList {
  /** the domains shown; undefined before the first listing, or while libvirt does not answer */
  readonly domains: Domain[] | undefined;
  /** events applied so far, counted: a listing notes this when it starts (`since`) */
  readonly eventCount: number;
  /** the last events applied (at most REPLAY_LIMIT), for replay over a listing under way when they came */
  readonly journal: readonly JournalEntry[];
}

export type DomainListEvent =
  /** a lifecycle event's effect on the domain named `name` (names are unique on a host) */
  | { kind: 'lifecycle'; name: string; effect: DomainState | 'removed' | 'defined' }
  /**
   * a full listing that started when eventCount was `since`; `migrating`: names an outgoing migration announced, shown
   * as migrating while running
   */
  | { kind: 'listing'; domains: Domain[]; since: number; migrating?: ReadonlySet<string> }
  /** domains an event named, found by the light listing that started at `since` (defined shut off, until replayed) */
  | { kind: 'identified'; found: readonly { uuid: string; name: string }[]; since: number }
  /** no listing to show (libvirt down or not answering) */
  | { kind: 'unlisted' };

/** events kept for replay over a listing that was under way when they came */
export const REPLAY_LIMIT = 10_000;

export const emptyDomainList: DomainList = { domains: undefined, eventCount: 0, journal: [] };

export function reduceDomainList(list: DomainList, event: DomainListEvent): DomainList {
  switch (event.kind) {
    case 'lifecycle': {
      // before the first listing there is nothing to apply it to (the listing will say)
      if (!list.domains) return list;
      const journaled = remember(list, event.name, event.effect);
      const next = withEffect(list.domains, event.name, event.effect);
      return next ? { ...journaled, domains: next } : journaled;
    }
    case 'listing': {
      const marked = event.migrating?.size
        ? event.domains.map((d) =>
            event.migrating!.has(d.name) && d.state === 'running' ? { ...d, state: 'migrating' as const } : d,
          )
        : event.domains;
      // each domain the listing only confirms keeps its object (events make new objects only for what they change);
      // the events before it started are in it now (listings run one at a time), so the journal forgets them
      return {
        ...list,
        domains: keepUnchanged(list.domains, replayed(list, marked, event.since)),
        journal: list.journal.filter((e) => e.n > event.since),
      };
    }
    case 'identified': {
      if (!list.domains) return list;
      const known = new Set(list.domains.map((d) => d.uuid));
      const added = event.found
        .filter((d) => !known.has(d.uuid))
        .map(({ uuid, name }): Domain => ({ uuid, name, state: 'shutoff', stateReason: 0, ips: [], heardIps: [] }));
      if (!added.length) return list;
      // a domain is defined shut off; an event since says otherwise and is replayed
      const domains = replayed(list, [...list.domains, ...added], event.since);
      // remembered like events: a full listing under way since before them is not to drop them
      let out: DomainList = { ...list, domains };
      for (const { uuid } of added) {
        const domain = domains.find((d) => d.uuid === uuid);
        if (domain) out = remember(out, domain.name, { added: domain });
      }
      return out;
    }
    case 'unlisted':
      return list.domains ? { ...list, domains: undefined } : list;
  }
}

/** The names undefined by events after `since` (a name the light listing did not find may have gone meanwhile). */
export function removedSince(list: DomainList, since: number): Set<string> {
  return new Set(list.journal.filter((e) => e.n > since && e.effect === 'removed').map((e) => e.name));
}

function remember(list: DomainList, name: string, effect: DomainEffect): DomainList {
  const n = list.eventCount + 1;
  const journal = [...list.journal, { n, name, effect }];
  return {
    ...list,
    eventCount: n,
    journal: journal.length > REPLAY_LIMIT ? journal.slice(journal.length - REPLAY_LIMIT) : journal,
  };
}

/** A listing that started before events `since`…: those events applied to it again, in order. */
function replayed(list: DomainList, domains: Domain[], since: number): Domain[] {
  let out = domains;
  for (const e of list.journal) if (e.n > since) out = withEffect(out, e.name, e.effect) ?? out;
  return out;
}

/**
 * The domains after one lifecycle event of the domain named `name`: a new list, the domain a new object (what did not
 * change keeps its object, so views can tell); undefined when nothing changes.
 */
export function withEffect(domains: Domain[], name: string, effect: DomainEffect): Domain[] | undefined {
  const at = domains.findIndex((d) => d.name === name);
  if (typeof effect === 'object') return at < 0 ? [...domains, effect.added] : undefined;
  if (at < 0 || effect === 'defined') return undefined;
  if (effect === 'removed') return [...domains.slice(0, at), ...domains.slice(at + 1)];
  if (domains[at].state === effect) return undefined;
  const next = domains.slice();
  next[at] = { ...domains[at], state: effect, stateReason: 0 };
  return next;
}
