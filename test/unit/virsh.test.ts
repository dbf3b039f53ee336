import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Domain } from '../../src/core/domain';
import {
  domainStateFrom,
  keepUnchanged,
  leftOverFrom,
  lifecycleEffect,
  RunningIndex,
  runsElsewhere,
  treeOrder,
} from '../../src/core/domain';
import {
  domainsFrom,
  lifecycleArgv,
  listedUuids,
  listingIsAmbiguous,
  parseAddresses,
  parseDomainList,
  parseDomstats,
  parseEventLine,
  domstatsBlocks,
  listDomainsArgv,
  splitListing,
  statsNameEachOnce,
} from '../../src/core/virsh';
import { addressesArgv } from '../../src/remote/addresses';
import { newStatsMark } from '../../src/services/inventory';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', name), 'utf8');
const HOSTILE = 'evil \'one\' "two" $(touch ferry-pwned) `touch ferry-pwned2` čaj ü';

describe('virsh output parsers (fixtures captured from the lab)', () => {
  it("finds a running domain's address in the host's neighbours by its MAC, as heard only, ignoring the host's own", () => {
    const text = fixture('virsh-addresses.txt');
    const uuid = /^@domain (\S+)/.exec(text)![1];
    expect([...parseAddresses(text)]).toEqual([[uuid, { leased: [], heard: ['10.0.1.100'] }]]);
  });

  it("takes DHCP leases as the domain's, every address of an interface, neighbours only as heard, none that failed", () => {
    // the lease lines as virsh domifaddr --source lease prints them on a host with libvirt's default network (the
    // lab's guests have static addresses, so its lease table is empty)
    const text = [
      '@domain 34F65F68-8F52-4B5E-9AD8-9965415465C8',
      ' vnet0   bridge   virbr0   virtio   52:54:00:8f:f2:d5',
      '@leases',
      ' vnet0      52:54:00:8f:f2:d5    ipv4         192.168.122.62/24',
      ' -          -                    ipv6         fd00::62/64',
      '@neighbours',
      '192.168.122.62 dev virbr0 lladdr 52:54:00:8f:f2:d5 REACHABLE',
      '192.168.122.99 dev virbr0 lladdr 52:54:00:8f:f2:d5 STALE',
      '192.168.122.7 dev virbr0  FAILED',
    ].join('\n');
    expect(parseAddresses(text).get('34f65f68-8f52-4b5e-9ad8-9965415465c8')).toEqual({
      leased: ['192.168.122.62', 'fd00::62'],
      heard: ['192.168.122.99'],
    });
    expect(() => addressesArgv('qemu:///system', ['$(reboot)'])).toThrow(/not a domain UUID/);
  });

  it('parses list --all --uuid --name, names with spaces and quotes intact', () => {
    const list = parseDomainList(fixture('virsh-list-all-uuid-name.txt'));
    expect(list.map((d) => d.name).sort()).toEqual([HOSTILE, 'tiny1'].sort());
    for (const d of list) expect(d.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('parses domstats --raw for running and shut-off domains', () => {
    const stats = parseDomstats(fixture('virsh-domstats-raw.txt'));
    expect(stats.get('tiny1')).toMatchObject({ state: 1, vcpus: 1, memoryKiB: 524288 });
    expect(stats.get(HOSTILE)).toMatchObject({ state: 5, vcpus: 1, memoryKiB: 262144 });
    expect(stats.get('tiny1')!.fields.get('balloon.rss')).toMatch(/^\d+$/);
  });

  it('joins list and stats into sorted domains', () => {
    const domains = domainsFrom(
      parseDomainList(fixture('virsh-list-all-uuid-name.txt')),
      parseDomstats(fixture('virsh-domstats-raw.txt')),
    );
    expect(domains.map((d) => [d.name, d.state])).toEqual([
      [HOSTILE, 'shutoff'],
      ['tiny1', 'running'],
    ]);
  });

  it('gives a listed domain without stats "nostate" rather than dropping it', () => {
    const [d] = domainsFrom([{ uuid: '5edaad3e-7d51-4c78-91bc-ba8a3143c6b0', name: 'gone' }], new Map());
    expect(d).toMatchObject({ name: 'gone', state: 'nostate', ips: [] });
  });

  it('reads the state a lifecycle event leaves its domain in, from events captured in the lab', () => {
    const effects = [
      ...fixture('virsh-event-lifecycle.txt').split('\n'),
      ...fixture('virsh-event-migration.txt').split('\n'),
    ]
      .map(parseEventLine)
      .filter((e) => e?.type === 'lifecycle')
      .map((e) => [e!.detail, lifecycleEffect(e!.detail)]);
    expect(effects).toEqual([
      ['Resumed Unpaused', 'running'],
      ['Started Booted', 'running'],
      ['Suspended Paused', 'paused'],
      ['Resumed Unpaused', 'running'],
      ['Shutdown Finished after host request', undefined],
      ['Stopped Destroyed', 'shutoff'],
      ['Suspended Migrated', 'migrating'],
      ['Stopped Migrated', 'shutoff'],
    ]);
    expect(
      [
        'Defined Added',
        'Defined Updated',
        'Undefined Removed',
        'Started Migrated',
        'Crashed Panicked',
        'Resumed Post-copy',
      ].map(lifecycleEffect),
    ).toEqual(['defined', 'defined', 'removed', 'migrating', 'crashed', 'running']);
  });

  it('parses virsh event lines, the hostile name intact, and skips continuation lines', () => {
    const events = fixture('virsh-event-lifecycle.txt')
      .split('\n')
      .map(parseEventLine)
      .filter((e) => e !== undefined);
    expect(events.length).toBeGreaterThanOrEqual(5);
    for (const e of events) expect(e).toMatchObject({ type: 'lifecycle', domain: HOSTILE });
    expect(events.map((e) => e.detail)).toContain('Stopped Destroyed');
    expect(
      parseEventLine("2026-11-22 01:04:13.685+0000: event 'migration-iteration' for domain 'tiny1': iteration: '1'"),
    ).toEqual({
      time: '2026-11-22 01:04:13.685+0000',
      type: 'migration-iteration',
      domain: 'tiny1',
      detail: "iteration: '1'",
    });
    expect(parseEventLine('\toperation: 5  time_elapsed: 853')).toBeUndefined();
    expect(parseEventLine("event 'lifecycle' for domain 'x': Started Booted")).toBeUndefined();
  });

  it('maps libvirt states, and paused-for-migration to migrating', () => {
    expect(domainStateFrom(1, 1)).toBe('running');
    expect(domainStateFrom(3, 1)).toBe('paused');
    expect(domainStateFrom(3, 2)).toBe('migrating');
    expect(domainStateFrom(5, 0)).toBe('shutoff');
    expect(domainStateFrom(6, 0)).toBe('crashed');
    expect(domainStateFrom(42, 0)).toBe('nostate');
  });

  it('addresses domains by UUID only', () => {
    expect(lifecycleArgv('qemu:///system', 'forceOff', '5edaad3e-7d51-4c78-91bc-ba8a3143c6b0')).toEqual([
      'virsh',
      '-q',
      '-c',
      'qemu:///system',
      'destroy',
      '5edaad3e-7d51-4c78-91bc-ba8a3143c6b0',
    ]);
    expect(() => lifecycleArgv('qemu:///system', 'start', 'tiny1; reboot')).toThrow(/not a domain UUID/);
  });
});

describe('names with line separators other than LF', () => {
  // libvirt accepts U+2028, U+2029 and CR in a domain name; to a JS regex without the s flag they end a line
  const names = ['ls\u2028sep', 'para\u2029graph', 'carriage\rreturn', 'q\'uo"te $(x) `y`'];
  it('lists every one of them', () => {
    const text = names.map((n, i) => `00000000-0000-4000-8000-00000000000${i} ${n}`).join('\n') + '\n';
    expect(parseDomainList(text).map((d) => d.name)).toEqual(names);
  });
  it('keeps their events', () => {
    for (const n of names) {
      expect(
        parseEventLine(`2026-11-22 02:02:09.148+0000: event 'lifecycle' for domain '${n}': Stopped Destroyed`),
      ).toMatchObject({ domain: n, detail: 'Stopped Destroyed' });
    }
  });
  it('reads their domstats blocks', () => {
    const stats = parseDomstats(names.map((n) => `Domain: '${n}'\n  state.state=5\n  state.reason=0\n`).join('\n'));
    expect([...stats.keys()]).toEqual(names);
  });
});

describe('names that came back from libvirt with a line feed (a CR stored raw, read back after a stop)', () => {
  const a = '11111111-2222-4333-8444-555555555555';
  const b = '66666666-7777-4888-9999-aaaaaaaaaaaa';
  it('lists each domain once, its name whole, even when a line of the name looks like a domain', () => {
    const forged = `x\n${'99999999-9999-4999-8999-999999999999'} fake`;
    const text = `${a}\n${b}\n@names${a} cr\ntouch x\n${b} ${forged}\n`;
    expect(parseDomainList(text)).toEqual([
      { uuid: a, name: 'cr\ntouch x' },
      { uuid: b, name: forged },
    ]);
  });
  it('keeps each domstats block with its own domain, not the one before', () => {
    const text =
      "Domain: 'tiny1'\n  state.state=1\n  state.reason=1\n\nDomain: 'cr\ntouch x'\n  state.state=5\n  state.reason=2\n";
    const stats = parseDomstats(text);
    expect([...stats.keys()]).toEqual(['tiny1', 'cr\ntouch x']);
    expect(stats.get('tiny1')!.state).toBe(1);
    expect(stats.get('cr\ntouch x')!.state).toBe(5);
  });
});

describe("the tree's order of domains", () => {
  it('puts running ones first, then goes by name, whatever order libvirt listed them in', () => {
    const d = (name: string, state: Domain['state'], uuid = name): Domain => ({
      uuid,
      name,
      state,
      stateReason: 0,
      ips: [],
      heardIps: [],
    });
    const listed = [
      d('web', 'shutoff'),
      d('db', 'running'),
      d('app', 'shutoff'),
      d('cache', 'paused'),
      d('api', 'running'),
    ];
    expect([...listed].sort(treeOrder).map((x) => x.name)).toEqual(['api', 'cache', 'db', 'app', 'web']);
    expect(
      [...listed]
        .reverse()
        .sort(treeOrder)
        .map((x) => x.name),
    ).toEqual(['api', 'cache', 'db', 'app', 'web']);
  });
});

describe('a listing that confirms what is shown', () => {
  const listing = () =>
    domainsFrom(
      parseDomainList(fixture('virsh-list-all-uuid-name.txt')),
      parseDomstats(fixture('virsh-domstats-raw.txt')),
    );

  it('is the list shown, each domain its object, when the host says the same again', () => {
    const shown = listing();
    expect(keepUnchanged(shown, listing())).toBe(shown);
  });

  it("is a new list that keeps the unchanged domains' objects when one domain changed", () => {
    const shown = listing();
    const again = listing();
    const tiny1 = again.findIndex((d) => d.name === 'tiny1');
    again[tiny1] = { ...again[tiny1], heardIps: ['192.0.2.7'] };
    const kept = keepUnchanged(shown, again);
    expect(kept).not.toBe(shown);
    expect(kept[tiny1]).toBe(again[tiny1]);
    expect(kept.filter((_, i) => i !== tiny1).every((d) => shown.includes(d))).toBe(true);
  });

  it('is a new list when a domain came or went, or the order changed', () => {
    const shown = listing();
    expect(keepUnchanged(shown, listing().slice(1))).not.toBe(shown);
    expect(keepUnchanged(shown, listing().reverse())).not.toBe(shown);
    expect(keepUnchanged(undefined, shown)).toBe(shown);
  });
});

describe('a listing whose names cannot be told apart by their lines', () => {
  const a = '11111111-2222-4333-8444-555555555555';
  const b = '66666666-7777-4888-9999-aaaaaaaaaaaa';
  it('is plain when no line of a name starts with a listed UUID', () => {
    expect(listingIsAmbiguous(`${a}\n${b}\n@names${a} cr\ntouch x\n${b} two\n`)).toBe(false);
    expect(listedUuids(`${a}\n${b}\n@names${a} one\n${b} two\n`)).toEqual([a, b]);
  });
  it("is ambiguous when a name's line claims another domain's UUID, before or after it", () => {
    expect(listingIsAmbiguous(`${a}\n${b}\n@names${a} x\n${b} fake\n${b} real\n`)).toBe(true);
    expect(listingIsAmbiguous(`${a}\n${b}\n@names${a} real\n${b} x\n${a} fake\n`)).toBe(true);
    // what the line parser alone would make of the first: b named "fake\n<b> real"
    expect(parseDomainList(`${a}\n${b}\n@names${a} x\n${b} fake\n${b} real\n`)[1].name).toBe(`fake\n${b} real`);
  });
});

describe("the listing's one virsh: listings, then statistics", () => {
  const a = '11111111-2222-4333-8444-555555555555';
  const b = '66666666-7777-4888-9999-aaaaaaaaaaaa';
  const mark = newStatsMark();
  const name = 'x\n@stats/0123456789abcdef\n@names'; // marks, but not this listing's
  // as virsh -q prints it: its echo ends no line
  const listings = `${a}\n@names${a} ${name}\n`;
  const stats = `Domain: '${name}'\n  state.state=5\n  state.reason=0\n`;
  it('asks with a mark of its own each time', () => {
    expect(mark).toMatch(/^@stats\/[0-9a-f]{16}$/);
    expect(newStatsMark()).not.toBe(mark);
    expect(listDomainsArgv('qemu:///system', mark).at(-1)).toContain(`; echo ${mark}; domstats `);
  });
  it('splits at its mark, whatever the names hold', () => {
    const parts = splitListing(`${listings}${mark}${stats}`, mark);
    expect(parts).toEqual({ listings, stats });
    expect(parseDomainList(parts!.listings)).toEqual([{ uuid: a, name }]);
    expect(parseDomstats(parts!.stats).get(name)?.state).toBe(5);
  });
  it('reads the listing as the lab printed it: the hostile name and its statistics', () => {
    const parts = splitListing(fixture('virsh-listing.txt'), '@stats/')!;
    const domains = domainsFrom(parseDomainList(parts.listings), parseDomstats(parts.stats));
    expect(domains.map((d) => [d.name, d.state, d.memoryKiB])).toEqual([
      [HOSTILE, 'shutoff', 262144],
      ['tiny1', 'running', 524288],
    ]);
  });
  it('splits a host without domains (as lab hostC printed it)', () => {
    expect(splitListing(`@names${mark}`, mark)).toEqual({ listings: '@names', stats: '' });
  });
  it('has no statistics when virsh stopped before them', () => {
    expect(splitListing(listings, mark)).toBeUndefined();
  });
  it('takes a line of a UUID not listed as a name that cannot be read by lines', () => {
    // a name's line, or a domain defined between the two listings: either would end up in the name before it
    expect(listingIsAmbiguous(`${a}\n@names${a} x\n${b} y\n`)).toBe(true);
    expect(listingIsAmbiguous(`${a}\n@names${a} x\n`)).toBe(false);
  });
  it("knows domstats' blocks were made up when a name opens another's or hides its own", () => {
    const forged = domstatsBlocks(`${stats}\nDomain: 'y\nDomain: '${name}'\n  state.state=1\n`);
    expect(forged.map((x) => x.name)).toEqual([name, name]);
    expect(statsNameEachOnce(forged, [name, "y\nDomain: '" + name])).toBe(false);
    expect(statsNameEachOnce(domstatsBlocks(stats), [name])).toBe(true);
    expect(statsNameEachOnce(domstatsBlocks(stats), [name, 'z'])).toBe(false);
  });
});

describe('a definition a migration left behind', () => {
  const uuid = '11111111-2222-4333-8444-555555555555';
  const on = (state: Domain['state']): Domain => ({ uuid, name: 'vm', state, stateReason: 0, ips: [], heardIps: [] });
  const indexOf = (hosts: { alias: string; domains?: Domain[] }[]) => new RunningIndex().update(hosts);
  it('is found by the host where the domain of its UUID runs (or holds its disks)', () => {
    for (const state of ['running', 'paused', 'migrating', 'blocked', 'shutdown', 'pmsuspended', 'crashed'] as const) {
      const hosts = [
        { alias: 'A', domains: [on('shutoff')] },
        { alias: 'B', domains: [on(state)] },
      ];
      const running = indexOf(hosts);
      expect(runsElsewhere(running, 'A', uuid)).toBe('B');
      expect(leftOverFrom(running, 'A', on('shutoff'))).toBe('B');
      // the running domain itself is no left-over of the shut-off one
      expect(leftOverFrom(running, 'B', on(state))).toBeUndefined();
    }
  });
  it('is not when that domain is off everywhere else, unknown there, or only on this host', () => {
    for (const state of ['shutoff', 'nostate'] as const)
      expect(runsElsewhere(indexOf([{ alias: 'B', domains: [on(state)] }]), 'A', uuid)).toBeUndefined();
    expect(runsElsewhere(indexOf([{ alias: 'B' }]), 'A', uuid)).toBeUndefined();
    expect(runsElsewhere(indexOf([{ alias: 'A', domains: [on('running')] }]), 'A', uuid)).toBeUndefined();
    const running = indexOf([{ alias: 'A', domains: [on('shutoff')] }, { alias: 'B' }]);
    expect(leftOverFrom(running, 'A', on('shutoff'))).toBeUndefined();
  });
  it('names another host when the UUID runs on several (a split brain), never this one', () => {
    const hosts = [
      { alias: 'A', domains: [on('running')] },
      { alias: 'B', domains: [on('paused')] },
      { alias: 'C', domains: [on('shutoff')] },
    ];
    const running = indexOf(hosts);
    expect(runsElsewhere(running, 'A', uuid)).toBe('B');
    expect(runsElsewhere(running, 'B', uuid)).toBe('A');
    expect(leftOverFrom(running, 'C', on('shutoff'))).toBe('A');
  });
  it('is indexed anew only when the domains running on some host changed', () => {
    const index = new RunningIndex();
    const a = [on('running')];
    const first = index.update([{ alias: 'A', domains: a }]);
    // the same listing, or a new one (a domain defined, shut off) with the same running domains: the same index
    expect(index.update([{ alias: 'A', domains: a }])).toBe(first);
    const other = { ...on('shutoff'), uuid: '11111111-2222-4333-8444-666666666666' };
    expect(index.update([{ alias: 'A', domains: [on('running'), other] }])).toBe(first);
    // the domain shut off, or its host no longer among those given (disconnected): a new one each time
    const shutOff = index.update([{ alias: 'A', domains: [on('shutoff')] }]);
    expect(shutOff).not.toBe(first);
    expect(shutOff.size).toBe(0);
    const runningAgain = index.update([{ alias: 'A', domains: a }]);
    expect(runningAgain).not.toBe(shutOff);
    expect(runningAgain.get(uuid)).toEqual(['A']);
    const none = index.update([]);
    expect(none).not.toBe(runningAgain);
    expect(none.size).toBe(0);
  });
});
