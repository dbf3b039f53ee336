/** The pure domain-list reducer: lifecycle effects, listings, identified domains, and the replay over a listing. */
import { describe, expect, it } from 'vitest';
import type { Domain } from '../../src/core/domain';
import type { DomainList } from '../../src/core/domainList';
import { emptyDomainList, reduceDomainList, REPLAY_LIMIT, removedSince } from '../../src/core/domainList';
import { domainsFrom, parseDomainList, parseDomstats } from '../../src/core/virsh';
import { fixture } from '../support/fakeHost';

const captured = () =>
  domainsFrom(
    parseDomainList(fixture('virsh-list-all-uuid-name.txt')),
    parseDomstats(fixture('virsh-domstats-raw.txt')),
  );
const listed = (domains: Domain[] = captured(), since = 0): DomainList =>
  reduceDomainList(emptyDomainList, { kind: 'listing', domains, since });
const stateOf = (list: DomainList, name: string) => list.domains?.find((d) => d.name === name)?.state;
const EVIL = captured().find((d) => d.name.startsWith('evil'))!.name;

describe('the domain list reducer', () => {
  it('shows the first listing as it is (the captured hostile name intact)', () => {
    const list = listed();
    expect(list.domains!.map((d) => [d.name, d.state])).toEqual([
      [EVIL, 'shutoff'],
      ['tiny1', 'running'],
    ]);
    expect(list.eventCount).toBe(0);
  });

  it('applies a lifecycle effect by itself: a new object for that domain only, the other kept', () => {
    const list = listed();
    const next = reduceDomainList(list, { kind: 'lifecycle', name: EVIL, effect: 'running' });
    expect(stateOf(next, EVIL)).toBe('running');
    expect(next.domains!.find((d) => d.name === 'tiny1')).toBe(list.domains!.find((d) => d.name === 'tiny1'));
    expect(next.eventCount).toBe(1);
    // the same state again, 'defined' and an unknown name change nothing shown (but are journaled)
    for (const e of [
      { name: EVIL, effect: 'running' as const },
      { name: 'tiny1', effect: 'defined' as const },
      { name: 'nobody', effect: 'paused' as const },
    ]) {
      expect(reduceDomainList(next, { kind: 'lifecycle', ...e }).domains).toBe(next.domains);
    }
    const gone = reduceDomainList(next, { kind: 'lifecycle', name: 'tiny1', effect: 'removed' });
    expect(gone.domains!.map((d) => d.name)).toEqual([EVIL]);
  });

  it('ignores events before the first listing (that listing will say)', () => {
    expect(reduceDomainList(emptyDomainList, { kind: 'lifecycle', name: 'tiny1', effect: 'shutoff' })).toBe(
      emptyDomainList,
    );
  });

  it('replays over a listing the events that came while it was under way, in order', () => {
    let list = listed();
    const since = list.eventCount; // a listing starts here…
    list = reduceDomainList(list, { kind: 'lifecycle', name: 'tiny1', effect: 'paused' });
    list = reduceDomainList(list, { kind: 'lifecycle', name: 'tiny1', effect: 'shutoff' });
    list = reduceDomainList(list, { kind: 'lifecycle', name: EVIL, effect: 'removed' });
    // …and answers as of its start: tiny1 running, the evil one still there
    const next = reduceDomainList(list, { kind: 'listing', domains: captured(), since });
    expect(next.domains!.map((d) => [d.name, d.state])).toEqual([['tiny1', 'shutoff']]);
    expect(next.journal.map((e) => e.n)).toEqual([1, 2, 3]); // still there for a light listing under way
    expect(reduceDomainList(next, { kind: 'listing', domains: captured(), since: 3 }).journal).toEqual([]);
    // a listing that started after them is taken as it is
    expect(
      reduceDomainList(list, { kind: 'listing', domains: captured(), since: list.eventCount }).domains!.map(
        (d) => d.state,
      ),
    ).toEqual(['shutoff', 'running']);
  });

  it('keeps the objects of domains a listing only confirms, and the list itself when nothing changed', () => {
    const list = listed();
    expect(reduceDomainList(list, { kind: 'listing', domains: captured(), since: 0 }).domains).toBe(list.domains);
    const stats = parseDomstats(fixture('virsh-domstats-raw.txt'));
    stats.get('tiny1')!.vcpus = 2;
    const next = reduceDomainList(list, {
      kind: 'listing',
      domains: domainsFrom(parseDomainList(fixture('virsh-list-all-uuid-name.txt')), stats),
      since: 0,
    });
    expect(next.domains![0]).toBe(list.domains![0]);
    expect(next.domains![1]).not.toBe(list.domains![1]);
  });

  it('shows a running domain an outgoing migration announced as migrating', () => {
    const list = reduceDomainList(emptyDomainList, {
      kind: 'listing',
      domains: captured(),
      since: 0,
      migrating: new Set(['tiny1', EVIL]),
    });
    expect([stateOf(list, 'tiny1'), stateOf(list, EVIL)]).toEqual(['migrating', 'shutoff']);
  });

  it('adds identified domains shut off, with the events since replayed, and remembers them for a listing under way', () => {
    let list = listed();
    const since = list.eventCount;
    list = reduceDomainList(list, { kind: 'lifecycle', name: 'new one', effect: 'defined' });
    list = reduceDomainList(list, { kind: 'lifecycle', name: 'new one', effect: 'running' });
    list = reduceDomainList(list, { kind: 'lifecycle', name: 'gone one', effect: 'removed' });
    const uuid = '11111111-2222-3333-4444-555555555555';
    const tiny1 = list.domains!.find((d) => d.name === 'tiny1')!;
    list = reduceDomainList(list, {
      kind: 'identified',
      found: [
        { uuid, name: 'new one' },
        { uuid: tiny1.uuid, name: 'tiny1' },
      ],
      since,
    });
    expect(list.domains!.find((d) => d.uuid === uuid)).toEqual({
      uuid,
      name: 'new one',
      state: 'running',
      stateReason: 0,
      ips: [],
      heardIps: [],
    });
    expect(list.domains!.filter((d) => d.name === 'tiny1')).toEqual([tiny1]);
    expect(removedSince(list, since)).toEqual(new Set(['gone one']));
    // a full listing that started before the definition still shows it
    expect(
      reduceDomainList(list, { kind: 'listing', domains: captured(), since }).domains!.map((d) => d.name),
    ).toContain('new one');
  });

  it('shows nothing while libvirt does not answer, and keeps at most REPLAY_LIMIT events', () => {
    expect(reduceDomainList(listed(), { kind: 'unlisted' }).domains).toBeUndefined();
    let list = listed();
    for (let i = 0; i < REPLAY_LIMIT + 5; i++)
      list = reduceDomainList(list, { kind: 'lifecycle', name: 'tiny1', effect: i % 2 ? 'running' : 'paused' });
    expect(list.journal.length).toBe(REPLAY_LIMIT);
    expect(list.journal[0].n).toBe(6);
  });
});
