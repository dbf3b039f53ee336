import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Domain } from '../../src/core/domain';
import { DEFAULT_LIBVIRT_URI } from '../../src/core/virsh';
import { HostInventory } from '../../src/services/inventory';
import { guestStatus, lab, labConnection, labCtl, memoryLogger, onHost, onHostAsync, waitFor } from './lab';

const hostA = lab.hosts[0];
const hostC = lab.hosts[2];
let inventory: HostInventory;
const find = (name: string): Domain | undefined => inventory.domains?.find((d) => d.name === name);
const stateOf = (name: string) => find(name)?.state;

beforeAll(async () => {
  const connection = labConnection(hostA.alias);
  inventory = new HostInventory(connection, DEFAULT_LIBVIRT_URI, memoryLogger());
  await connection.connect();
  await waitFor('the first listing', () => inventory.domains, 10_000);
  // the tests below expect tiny1 running and the hostile domain shut off, as lab up leaves them
  if (stateOf('tiny1') !== 'running') onHost(hostA.alias, 'virsh -q start tiny1');
  if (stateOf(lab.hostileDomain.name) !== 'shutoff')
    await inventory.runAction('forceOff', find(lab.hostileDomain.name)!.uuid);
  await waitFor('tiny1 running', () => stateOf('tiny1') === 'running', 10_000);
});
afterAll(() => {
  inventory.connection.dispose();
  inventory.dispose();
});

describe('host inventory against the lab', () => {
  it('lists every domain with state, vCPUs and memory, the hostile name intact', () => {
    const tiny = find('tiny1')!;
    expect(tiny).toMatchObject({ state: 'running', vcpus: 1, memoryKiB: 512 * 1024 });
    expect(tiny.uuid).toMatch(/^[0-9a-f-]{36}$/);
    const hostile = find(lab.hostileDomain.name)!;
    expect(hostile).toMatchObject({ name: lab.hostileDomain.name, state: 'shutoff', vcpus: 1, memoryKiB: 256 * 1024 });
    // the same set virsh shows from another shell
    const uuids = onHost(hostA.alias, 'virsh -q list --all --uuid').split('\n').filter(Boolean).sort();
    expect(inventory.domains!.map((d) => d.uuid).sort()).toEqual(uuids);
  });

  it("shows a running domain's IP address as heard on the host's network, never as proven, and none for a shut-off one", async () => {
    // the guest is heard on the host's network (ARP) within seconds of booting; the inventory reads once, then once more.
    // The lab's guests have static addresses, so no lease proves them: any guest could answer ARP for that address
    await waitFor(
      "tiny1's address in the inventory",
      () => find('tiny1')?.heardIps.includes(lab.guests.tiny1.ip),
      20_000,
    );
    expect(find('tiny1')).toMatchObject({ ips: [], heardIps: [lab.guests.tiny1.ip] });
    expect(find(lab.hostileDomain.name)).toMatchObject({ ips: [], heardIps: [] });
    expect(await inventory.addressesOf(find('tiny1')!.uuid)).toEqual({ leased: [], heard: [lab.guests.tiny1.ip] });
  });

  it('sees a domain stopped and started from another shell, from libvirt events (no refresh asked)', async () => {
    // how fast is a figure for `npm run bench -- inventory` (event_ms); here: the new state arrives by itself
    await onHostAsync(hostA.alias, 'virsh -q destroy tiny1');
    await waitFor('tiny1 shut off in the inventory', () => stateOf('tiny1') === 'shutoff', 20_000);
    await onHostAsync(hostA.alias, 'virsh -q start tiny1');
    await waitFor('tiny1 running in the inventory', () => stateOf('tiny1') === 'running', 20_000);
  });

  it('applies an event by itself: a domain defined elsewhere shows at once with its UUID, its figures follow, and it goes when undefined', async () => {
    // the listing that confirms the events above has run (a listing reads tiny1's state reason; an event leaves it 0)
    await waitFor('the confirming listing', () => (find('tiny1')?.stateReason ?? 0) !== 0, 20_000);
    const untouched = find(lab.hostileDomain.name);
    const name = 'ferry event test';
    const xml = `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>`;
    await onHostAsync(
      hostA.alias,
      `printf '%s' "${xml}" > /tmp/ferry-event.xml && virsh -q define /tmp/ferry-event.xml >/dev/null && rm /tmp/ferry-event.xml`,
    );
    try {
      await waitFor('the defined domain in the inventory', () => find(name), 10_000);
      expect(find(name)).toMatchObject({
        uuid: onHost(hostA.alias, `virsh -q domuuid '${name}'`).trim(),
        state: 'shutoff',
      });
      // from the event and one light listing: no statistics yet, and no other domain read again
      expect(find(name)!.vcpus).toBeUndefined();
      expect(find(lab.hostileDomain.name)).toBe(untouched);
      await waitFor(
        'its figures, from the listing that confirms the event',
        () => find(name)?.vcpus === 1 && find(name)?.memoryKiB === 64 * 1024,
        20_000,
      );
    } finally {
      await onHostAsync(hostA.alias, `virsh -q undefine '${name}' >/dev/null 2>&1; true`);
    }
    await waitFor('the undefined domain gone from the inventory', () => !find(name), 10_000);
  });

  it('starts, pauses, resumes, reboots, shuts down and forces off the hostile-named domain, running nothing it names', async () => {
    const uuid = find(lab.hostileDomain.name)!.uuid;
    const virshState = () => onHost(hostA.alias, `virsh -q domstate ${uuid}`).trim();
    await inventory.runAction('start', uuid);
    expect(stateOf(lab.hostileDomain.name)).toBe('running');
    expect(virshState()).toBe('running');
    await inventory.runAction('pause', uuid);
    expect(virshState()).toBe('paused');
    expect(stateOf(lab.hostileDomain.name)).toBe('paused');
    await inventory.runAction('resume', uuid);
    expect(virshState()).toBe('running');
    // power-button actions need the guest's ACPI daemon; its web server starts right after it. A press that lands
    // while the guest is still settling can be missed (TCG on a busy machine), so it is pressed again, as a person would
    const uptime = () => {
      try {
        return Number(/uptime=([\d.]+)/.exec(guestStatus(lab.hostileDomain.ip))?.[1]);
      } catch {
        return undefined; // still booting, or powered off
      }
    };
    async function press(action: 'reboot' | 'shutdown', what: string, done: () => boolean) {
      for (let attempt = 1; ; attempt++) {
        await inventory.runAction(action, uuid);
        try {
          return await waitFor(what, done, 15_000);
        } catch (e) {
          if (attempt === 4) throw e;
        }
      }
    }
    // when the guest booted, by its uptime: a reboot moves it later (its uptime alone may catch up meanwhile)
    const bootedAt = () => {
      const up = uptime();
      return up === undefined || Number.isNaN(up) ? undefined : Date.now() / 1000 - up;
    };
    const bootedBefore = await waitFor('the guest up', bootedAt, 60_000);
    await press('reboot', 'the guest back after the reboot', () => (bootedAt() ?? 0) > bootedBefore + 2);
    expect(virshState()).toBe('running');
    await press(
      'shutdown',
      'the guest to power off on ACPI shutdown',
      () => stateOf(lab.hostileDomain.name) === 'shutoff',
    );
    await inventory.runAction('start', uuid);
    await inventory.runAction('forceOff', uuid);
    expect(virshState()).toBe('shut off');
    expect(stateOf(lab.hostileDomain.name)).toBe('shutoff');
    // the name holds $(touch ferry-pwned) and `touch ferry-pwned2`: neither may have run anywhere
    expect(
      onHost(
        hostA.alias,
        'ls /root/ferry-pwned* /tmp/ferry-pwned* /var/lib/libvirt/ferry-pwned* 2>/dev/null | wc -l',
      ).trim(),
    ).toBe('0');
  }, 240_000);

  it('rejects an action libvirt refuses with libvirt own words, and leaves the domain as it was', async () => {
    const uuid = find('tiny1')!.uuid;
    const error = (await inventory.runAction('start', uuid).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('LibvirtError');
    expect(error.message).toMatch(/already active/);
    expect(stateOf('tiny1')).toBe('running');
  });

  it('refuses to start a shut-off domain while a QEMU of its UUID runs on the host, and starts nothing', async () => {
    const domain = find(lab.hostileDomain.name)!;
    expect(domain.state).toBe('shutoff');
    // as an in-place upgrade left under its second daemon looks from here: a process with QEMU's `-uuid UUID`
    // (the pid printed once its command line is that one: until its exec, it is the shell's)
    const pid = onHost(
      hostA.alias,
      `sh -c 'sleep 300; :' fake-qemu -uuid ${domain.uuid} >/dev/null 2>&1 & p=$!; i=0; ` +
        'until grep -q fake-qemu /proc/$p/cmdline 2>/dev/null || [ $i -ge 200 ]; do sleep 0.05; i=$((i + 1)); done; ' +
        'grep -q fake-qemu /proc/$p/cmdline && echo $p',
    ).trim();
    try {
      const error = (await inventory.runAction('start', domain.uuid).catch((e: unknown) => e)) as Error;
      expect(error.message).toContain(`a QEMU of its UUID runs there (pid ${pid})`);
      expect(onHost(hostA.alias, `virsh -q domstate ${domain.uuid}`).trim()).toBe('shut off');
    } finally {
      onHost(hostA.alias, `kill ${pid}`);
    }
  });

  it('says so when libvirtd hangs (within its listing timeout), ends the hung virsh, and recovers', async () => {
    const connection = labConnection(hostC.alias);
    const c = new HostInventory(connection, DEFAULT_LIBVIRT_URI, memoryLogger(), 3000);
    try {
      await connection.connect();
      await waitFor('hostC listed', () => c.domains, 10_000);
      labCtl('libvirtd', 'freeze', hostC.letter);
      await expect(c.refresh()).rejects.toThrow(/no answer within 3 s/);
      expect(c.libvirtError).toBe('libvirtd did not answer within 3 s (hung?)');
      // the listing's virsh waiting on it was ended with its channel (the event stream's stays)
      await waitFor(
        'no listing virsh left on hostC',
        () => !onHost(hostC.alias, "pgrep -f '[d]omstats --raw|[l]ist --all --uuid' || true").trim(),
        10_000,
      );
      labCtl('libvirtd', 'thaw', hostC.letter);
      await c.refresh();
      expect(c.libvirtError).toBeUndefined();
    } finally {
      labCtl('libvirtd', 'thaw', hostC.letter);
      connection.dispose();
      c.dispose();
    }
  });

  it('says so when the host is reachable but libvirt is not running, and recovers when it is back', async () => {
    const connection = labConnection(hostC.alias);
    const c = new HostInventory(connection, DEFAULT_LIBVIRT_URI, memoryLogger());
    try {
      await connection.connect();
      await waitFor('hostC listed', () => c.domains, 10_000);
      labCtl('libvirtd', 'stop', hostC.letter);
      await c.refresh().catch(() => undefined);
      expect(c.libvirtError).toMatch(/failed to connect to the hypervisor/i);
      expect(c.domains).toBeUndefined();
      labCtl('libvirtd', 'start', hostC.letter);
      await c.refresh();
      expect(c.libvirtError).toBeUndefined();
      expect(c.domains).toBeDefined();
    } finally {
      labCtl('libvirtd', 'start', hostC.letter);
      connection.dispose();
      c.dispose();
    }
  });
});
