import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { domainStateFrom } from '../../src/core/domain';
import { domainsFrom, lifecycleArgv, parseDomainList, parseDomstats, parseEventLine } from '../../src/core/virsh';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', name), 'utf8');
const HOSTILE = 'evil \'one\' "two" $(touch ferry-pwned) `touch ferry-pwned2` čaj ü';

describe('virsh output parsers (fixtures captured from the lab)', () => {
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
    const domains = domainsFrom(parseDomainList(fixture('virsh-list-all-uuid-name.txt')), parseDomstats(fixture('virsh-domstats-raw.txt')));
    expect(domains.map((d) => [d.name, d.state])).toEqual([
      [HOSTILE, 'shutoff'],
      ['tiny1', 'running'],
    ]);
  });

  it('gives a listed domain without stats "nostate" rather than dropping it', () => {
    const [d] = domainsFrom([{ uuid: '5edaad3e-7d51-4c78-91bc-ba8a3143c6b0', name: 'gone' }], new Map());
    expect(d).toMatchObject({ name: 'gone', state: 'nostate', ips: [] });
  });

  it('parses virsh event lines, the hostile name intact, and skips continuation lines', () => {
    const events = fixture('virsh-event-lifecycle.txt').split('\n').map(parseEventLine).filter((e) => e !== undefined);
    expect(events.length).toBeGreaterThanOrEqual(5);
    for (const e of events) expect(e).toMatchObject({ type: 'lifecycle', domain: HOSTILE });
    expect(events.map((e) => e.detail)).toContain('Stopped Destroyed');
    expect(parseEventLine("2026-11-22 01:04:13.685+0000: event 'migration-iteration' for domain 'tiny1': iteration: '1'")).toEqual({
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
      'virsh', '-q', '-c', 'qemu:///system', 'destroy', '5edaad3e-7d51-4c78-91bc-ba8a3143c6b0',
    ]);
    expect(() => lifecycleArgv('qemu:///system', 'start', 'tiny1; reboot')).toThrow(/not a domain UUID/);
  });
});
