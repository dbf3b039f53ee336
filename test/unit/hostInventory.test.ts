/**
 * HostInventory's scheduling against a fake host answering from the lab's captured listings, under fake timers: the
 * listing on connect, events applied by themselves, new domains identified through the listing shell, the reconcile
 * listing, replay over a listing under way, reconnects, libvirt errors and a hung libvirtd.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HostInventory } from '../../src/services/inventory';
import { silentLogger } from '../../src/transport/logger';
import type { ExecResult } from '../../src/transport/sshConnection';
import { FakeHost, isEventStream, listingMark, VirshModel } from '../support/fakeHost';

const URI = 'qemu:///system';
const isListing = (a: readonly string[]) => listingMark(a, URI) !== undefined;
const NEW_UUID = '0f0e0d0c-0b0a-4909-8807-060504030201';

let model: VirshModel;
let host: FakeHost;
let inventory: HostInventory<FakeHost>;
const stateOf = (name: string) => inventory.domains?.find((d) => d.name === name)?.state;
const listings = () => host.execsOf(isListing).length;
const event = (name: string, type: string, detail: string) =>
  host.openStreams(isEventStream)[0].emit(VirshModel.eventLine(name, type, detail));
/** time passes; then the promise chains it set off (the shell's answers, a listing's parse) run to their end */
async function settle(ms = 0) {
  await vi.advanceTimersByTimeAsync(ms);
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

beforeEach(async () => {
  vi.useFakeTimers();
  model = VirshModel.fromCapture();
  host = model.serve(new FakeHost('hostA'));
  inventory = new HostInventory(host, URI, silentLogger, 3000);
  host.connect();
  await settle();
});
afterEach(() => {
  inventory.dispose();
  host.dispose();
  vi.useRealTimers();
});

describe('HostInventory on a fake host', () => {
  it('lists every domain on connect (the captured hostile name intact) and watches events', () => {
    expect(inventory.domains!.map((d) => [d.name, d.state, d.vcpus, d.memoryKiB])).toEqual([
      [model.domains[1].name, 'shutoff', 1, 262144],
      ['tiny1', 'running', 1, 524288],
    ]);
    expect(listings()).toBe(1);
    expect(host.openStreams(isEventStream)).toHaveLength(1);
    expect(inventory.libvirtError).toBeUndefined();
  });

  it('applies a lifecycle event by itself, without a new listing, and the listing that confirms it follows once events pause', async () => {
    const other = inventory.domains!.find((d) => d.name !== 'tiny1');
    let changes = 0;
    inventory.onDidChange(() => changes++);
    model.setState('tiny1', 5, 2);
    event('tiny1', 'lifecycle', 'Stopped Destroyed');
    expect(stateOf('tiny1')).toBe('shutoff');
    expect(inventory.domains!.find((d) => d.name !== 'tiny1')).toBe(other);
    expect(changes).toBe(1);
    await settle(1999);
    expect(listings()).toBe(1);
    await settle(1);
    expect(listings()).toBe(2);
    expect(inventory.domains!.find((d) => d.name === 'tiny1')!.stateReason).toBe(2); // read by the listing, not the event
  });

  it('puts off the reconcile listing while events keep coming', async () => {
    for (let i = 0; i < 5; i++) {
      event('tiny1', 'lifecycle', i % 2 ? 'Resumed Unpaused' : 'Suspended Paused');
      await settle(1500);
    }
    expect(listings()).toBe(1);
    await settle(2000);
    expect(listings()).toBe(2);
  });

  it('identifies a new domain through the listing shell (list --all --uuid, domname) in one burst, its figures from the next listing', async () => {
    model.define(NEW_UUID, 'new vm');
    event('new vm', 'lifecycle', 'Defined Added');
    event('new vm', 'lifecycle', 'Started Booted');
    await settle();
    expect(inventory.domains!.find((d) => d.name === 'new vm')).toMatchObject({ uuid: NEW_UUID, state: 'running' });
    expect(inventory.domains!.find((d) => d.name === 'new vm')!.vcpus).toBeUndefined();
    expect(listings()).toBe(1);
    const [shell] = host.sessions;
    expect(shell.written.split('\n').filter((l) => !l.startsWith('echo '))).toEqual([
      'list --all --uuid',
      `domname ${NEW_UUID}`,
      '',
    ]);
    model.setState('new vm', 1, 1);
    await settle(2000);
    expect(listings()).toBe(2);
    expect(inventory.domains!.find((d) => d.name === 'new vm')).toMatchObject({
      state: 'running',
      vcpus: 1,
      memoryKiB: 65536,
    });
  });

  it('identifies a plainly named new domain by its name (domuuid, the name asked back), listing no other domain', async () => {
    model.define(NEW_UUID, 'web-01');
    event('web-01', 'lifecycle', 'Defined Added');
    await settle();
    expect(inventory.domains!.find((d) => d.name === 'web-01')).toMatchObject({ uuid: NEW_UUID, state: 'shutoff' });
    const [shell] = host.sessions;
    expect(shell.written.split('\n').filter((l) => !l.startsWith('echo '))).toEqual([
      'domuuid --domain web-01',
      `domname ${NEW_UUID}`,
      '',
    ]);
  });

  it('asks no name that virsh could read as an ID or a UUID: such a domain is found by listing them all', async () => {
    const uuidLike = 'deadbeef-dead-beef-dead-beefdeadbeef';
    model.define(NEW_UUID, uuidLike);
    event(uuidLike, 'lifecycle', 'Defined Added');
    await settle();
    expect(inventory.domains!.find((d) => d.name === uuidLike)).toMatchObject({ uuid: NEW_UUID });
    const [shell] = host.sessions;
    expect(shell.written).not.toContain('domuuid');
    expect(shell.written).toContain('list --all --uuid');
  });

  it('replays over a listing the events that came while it was under way', async () => {
    let answer: (r: Partial<ExecResult>) => void = () => undefined;
    let mark = '';
    host.onExec(isListing, (argv) => new Promise((resolve) => ([answer, mark] = [resolve, listingMark(argv)!])));
    const refreshed = inventory.refresh();
    await settle();
    const listing = model.listingText(mark); // as of the listing's start: tiny1 running
    model.setState('tiny1', 5, 2);
    event('tiny1', 'lifecycle', 'Stopped Destroyed');
    answer({ stdout: listing });
    await refreshed;
    expect(stateOf('tiny1')).toBe('shutoff');
  });

  it('forgets the migrating marks on reconnect', async () => {
    event('tiny1', 'migration-iteration', "iteration: '1'");
    await settle(40);
    expect(stateOf('tiny1')).toBe('migrating');
    host.drop();
    expect(host.openStreams(isEventStream)).toHaveLength(0);
    host.connect();
    await settle();
    expect(stateOf('tiny1')).toBe('running');
    expect(host.openStreams(isEventStream)).toHaveLength(1);
  });

  it('shows a libvirt error on the host and lists again until libvirt is back', async () => {
    host.onExec(isListing, {
      code: 1,
      stderr:
        "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory\n",
    });
    await expect(inventory.refresh()).rejects.toThrow(/failed to connect to the hypervisor/);
    expect(inventory.libvirtError).toMatch(/^failed to connect to the hypervisor: Failed to connect socket/);
    expect(inventory.domains).toBeUndefined();
    await settle(5000);
    expect(listings()).toBe(3); // the retry, still failing
    host.onExec(isListing, (argv) => ({ stdout: model.listingText(listingMark(argv)!) }));
    await settle(5000);
    expect(inventory.libvirtError).toBeUndefined();
    expect(inventory.domains).toHaveLength(2);
  });

  it("shows an earlier command's error though virsh exits with the last one's success", async () => {
    // libvirtd restarted after the first listing: virsh reconnects and goes on, its exit status the last command's
    host.onExec(isListing, (argv) => ({
      code: 0,
      stdout: `@names${listingMark(argv)}${model.domstatsText()}`,
      stderr: 'error: Failed to list domains\nerror: End of file while reading data: Input/output error\n',
    }));
    await expect(inventory.refresh()).rejects.toThrow(/Failed to list domains/);
    expect(inventory.libvirtError).toBe('Failed to list domains: End of file while reading data: Input/output error');
  });

  it('shows a listing that ended before the statistics as an error, not as domains without a state', async () => {
    host.onExec(isListing, { code: 0, stdout: `${model.domains[0].uuid}\n@names${model.namesText()}` });
    await expect(inventory.refresh()).rejects.toThrow(/before the domains' statistics/);
    expect(inventory.libvirtError).toBe("virsh ended its listing before the domains' statistics");
  });

  it("reads a domain's own statistics asked by UUID only after its exact header, whatever its name adds", async () => {
    // a header never closed (its fields would be dropped), then a made-up block: the last block is the name's own
    const forger = "x'\n  state.state=5\n  vcpu.current=99\nDomain: 'y\n  z=1";
    model.define(NEW_UUID, forger, { 'state.state': '1', 'state.reason': '1', 'vcpu.current': '2' });
    await inventory.refresh();
    expect(inventory.domains!.find((d) => d.name === forger)).toMatchObject({ state: 'running', vcpus: 2 });
    expect(stateOf('tiny1')).toBe('running');
  });

  it("asks each domain's statistics by UUID when a name makes up another domain's block", async () => {
    // the name hides its own block's header and opens tiny1's: after tiny1's real block, its fields would be tiny1's
    model.define(NEW_UUID, "x\nDomain: 'tiny1");
    await inventory.refresh();
    expect(stateOf('tiny1')).toBe('running');
    expect(stateOf("x\nDomain: 'tiny1")).toBe('shutoff');
    expect(host.sessions[0].written).toContain(`domstats --raw --state --vcpu --balloon --nowait ${NEW_UUID}`);
  });

  it('shows a listing that never answers as libvirtd not answering, within its timeout', async () => {
    host.onExec(isListing, 'hang');
    const refreshed = inventory.refresh().catch((e: Error) => e);
    await settle(2999);
    expect(inventory.libvirtError).toBeUndefined();
    await settle(1);
    expect(((await refreshed) as Error).message).toMatch(/no answer within 3 s/);
    expect(inventory.libvirtError).toBe('libvirtd did not answer within 3 s (hung?)');
    expect(inventory.domains).toBeUndefined();
  });
});
