import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { QosChange } from '../../src/core/qos';
import { planQos } from '../../src/core/qos';
import { MigrationRunner } from '../../src/services/migration';
import { HostRegistry } from '../../src/services/hostRegistry';
import type { InterfaceState } from '../../src/services/qos';
import { QosRefused, QosService } from '../../src/services/qos';
import { PROFILES } from '../../src/core/migration/job';
import { TRAFFIC_INTERVAL_MS, type TrafficReading, trafficSample } from '../../src/core/traffic';
import { streamTraffic } from '../../src/services/traffic';
import { lab, labConnection, memoryLogger, memoryStore, onHost, streamToGuest, tiny1, waitFor } from './lab';

const [A, B] = lab.hosts.map((h) => h.alias);
const tinyIp = lab.guests.tiny1.ip;
const URI = 'qemu:///system';
const log = memoryLogger();
const qos = new QosService({ libvirtUri: URI }, log);
const connA = labConnection(A);
let uuid: string;
let iface: InterfaceState;
/** the guest's inbound rate with no limit, measured first: the ceiling the other figures are read against */
let unshapedMbps: number;

const mbit = (average: number): QosChange => ({ unit: 'Mbit/s', burstUnit: 'KiB', inbound: { average } });
const storedOnA = () =>
  onHost(A, `virsh -q domiftune tiny1 ${iface.mac} --live; virsh -q domiftune tiny1 ${iface.mac} --config`);
/** both scopes; a domain left transient by a migration has no persistent one */
const clearLimits = (alias: string) =>
  onHost(
    alias,
    `virsh -q domiftune tiny1 ${iface.mac} --live --inbound 0 --outbound 0 >/dev/null; virsh -q domiftune tiny1 ${iface.mac} --config --inbound 0 --outbound 0 >/dev/null 2>&1 || true`,
  );

beforeAll(async () => {
  tiny1.ensureOnA();
  uuid = tiny1.uuid();
  await connA.connect(false);
  [iface] = await qos.interfaces(connA, uuid, true);
  clearLimits(A);
  unshapedMbps = (await streamToGuest(tinyIp, 4).done).mbps;
  console.log(`qos: unshaped inbound rate into tiny1 ${unshapedMbps} Mbit/s`);
}, 120_000);
afterEach(() => clearLimits(tiny1.whereIs() ?? A));
afterAll(() => connA.disconnect());

describe('interface QoS against the lab', () => {
  it('reads the interface: MAC, model, bridge and host device', () => {
    expect(iface).toMatchObject({ mac: '52:54:00:00:01:64', type: 'bridge', source: 'br0', model: 'virtio' });
    expect(iface.device).toMatch(/^vnet\d+$/);
  });

  it('an inbound limit of 10 Mbit/s is stored, shaped on the tap and measured within ±10 %', async () => {
    const result = await qos.apply(connA, uuid, iface, planQos(mbit(10), { type: iface.type, uri: URI }), [
      'live',
      'config',
    ]);
    expect(result.mismatches).toEqual([]);
    expect(result.stored.live?.inbound).toMatchObject({ average: 1250 });
    expect(result.stored.config?.inbound).toMatchObject({ average: 1250 });
    expect(result.kernel?.htb).toMatchObject({ rateBits: 10e6, ceilBits: 10e6 });
    // the rate through the tap as the kernel counts what the shaping class sent (each GSO segment with its headers,
    // as the limit counts; the device's tx counter leaves those out and reads ~4 % lower, printed too), over the
    // stream's steady part: from its second second to its sixth
    const stream = streamToGuest(tinyIp, 7);
    await waitFor('the stream past its start', () => stream.intervals().some((i) => i.t >= 1.5), 20_000);
    const before = await qos.kernel(connA, iface.device!);
    const t0 = performance.now();
    await waitFor('four more seconds of the stream', () => stream.intervals().some((i) => i.t >= 5.5), 20_000);
    const after = await qos.kernel(connA, iface.device!);
    const seconds = (performance.now() - t0) / 1000;
    const tapMbps = ((after.htb!.sentBytes - before.htb!.sentBytes) * 8) / seconds / 1e6;
    const deviceMbps = ((after.txBytes! - before.txBytes!) * 8) / seconds / 1e6;
    const { mbps } = await stream.done;
    console.log(
      `qos: asked 10 Mbit/s, the tap's class sent ${tapMbps.toFixed(2)} Mbit/s (device counter ${deviceMbps.toFixed(2)}, TCP goodput echoed back ${mbps})`,
    );
    expect(tapMbps).toBeGreaterThan(9);
    expect(tapMbps).toBeLessThan(11);
  }, 60_000);

  it('changed to 40 Mbit/s during a transfer, the new rate shows within 2 s; removed, full speed is back', async () => {
    await qos.apply(connA, uuid, iface, planQos(mbit(10), { type: iface.type, uri: URI }), ['live']);
    const stream = streamToGuest(tinyIp, 8);
    await waitFor(
      'two seconds of the stream at 10 Mbit/s',
      () => stream.intervals().filter((i) => i.t >= 1).length >= 2,
      20_000,
    );
    const changedAt = stream.intervals().at(-1)!.t; // the change happens within the interval after this one
    const result = await qos.apply(connA, uuid, iface, planQos(mbit(40), { type: iface.type, uri: URI }), ['live']);
    expect(result.mismatches).toEqual([]);
    const { output } = await stream.done;
    const before = stream.intervals().filter((i) => i.t >= 1 && i.t <= changedAt);
    const soon = stream.intervals().filter((i) => i.t > changedAt + 0.5 && i.t <= changedAt + 2.5);
    console.log(`qos: 10 → 40 Mbit/s at t=${changedAt} s\n${output}`);
    for (const i of before) expect(i.mbps, `t=${i.t}`).toBeLessThan(11.5);
    // echoed TCP goodput runs at ~90 % of a limit (headers, the echo's own pacing): 32–44 is the 40 Mbit/s limit,
    // far from the 10 before it
    expect(
      soon.some((i) => i.mbps >= 32 && i.mbps <= 44),
      'an interval at the 40 Mbit/s limit within 2 s of the change',
    ).toBe(true);
    const removed = await qos.apply(
      connA,
      uuid,
      iface,
      planQos({ unit: 'Mbit/s', burstUnit: 'KiB', inbound: 'remove' }, { type: iface.type, uri: URI }),
      ['live'],
    );
    expect(removed.mismatches).toEqual([]);
    expect(removed.kernel?.htb).toBeUndefined();
    const free = (await streamToGuest(tinyIp, 4).done).mbps;
    console.log(`qos: limit removed, measured ${free} Mbit/s (unshaped ${unshapedMbps})`);
    // the guest's own ceiling under TCG varies with the machine's load (133–324 Mbit/s seen; a fresh-clone CI run with
    // another process busy read 379 against 791 unshaped a minute before): four times the removed 40 Mbit/s limit at
    // least, and a quarter of the unshaped rate measured first (no lower limit left anywhere)
    expect(free).toBeGreaterThan(Math.max(160, unshapedMbps * 0.25));
  }, 90_000);

  it('the traffic view streams the shaped tap: the 10 Mbit/s limit in its rates, one channel, nothing left behind', async () => {
    await qos.apply(connA, uuid, iface, planQos(mbit(10), { type: iface.type, uri: URI }), ['live']);
    const device = iface.device!;
    const guest = streamToGuest(tinyIp, 8);
    const readings: TrafficReading[] = [];
    const stream = await streamTraffic(connA, device, TRAFFIC_INTERVAL_MS, (r) => readings.push(r));
    // ([c]: the pattern does not match the shell that runs pgrep)
    const streamPids = () => onHost(A, `pgrep -f 'ferry-traffi[c] ${device} ' || true`).trim();
    try {
      await waitFor('twelve readings with the stream running', () => readings.length >= 12, 20_000);
      expect(streamPids()).not.toBe('');
      const samples = readings.slice(1).map((r, i) => trafficSample(readings[i], r));
      for (const s of samples) expect(s.shapedMbps).toBe(10);
      // a second's worth of readings into the guest at the limit (TCP's goodput plus headers: 8.5–11.5 Mbit/s)
      const last = readings.slice(-5);
      const second = trafficSample(last[0], last[4]);
      expect(second.intoGuestMbps).toBeGreaterThan(8.5);
      expect(second.intoGuestMbps).toBeLessThan(11.5);
    } finally {
      stream.close();
      await guest.done.catch(() => undefined);
    }
    expect(await stream.ended).toBeUndefined();
    // its bash (and tc) end with the channel's input
    await waitFor('the stream gone from the host', () => streamPids() === '' || undefined, 10_000);
  }, 60_000);

  it("an outbound limit is stored but reported as not enforced by this lab's kernel (no act_police), with the evidence", async () => {
    const change: QosChange = { unit: 'Mbit/s', burstUnit: 'KiB', outbound: { average: 5 } };
    const result = await qos.apply(connA, uuid, iface, planQos(change, { type: iface.type, uri: URI }), ['live']);
    expect(result.stored.live?.outbound).toMatchObject({ average: 625 });
    expect(result.kernel?.police).toBeUndefined();
    expect(result.kernel?.ingress).toBe(true);
    expect(result.mismatches).toHaveLength(1);
    expect(result.mismatches[0]).toMatch(
      new RegExp(
        `^The outbound limit \\(5 Mbit/s\\) is not enforced by the host's kernel: ${iface.device} has an ingress qdisc but no police filter`,
      ),
    );
    console.log(`qos: this lab's kernel has no act_police; Ferry reports: ${result.mismatches[0]}`);
    // the tree's read says the same
    const [seen] = await qos.interfaces(connA, uuid, true);
    expect(seen.kernelProblems).toEqual(result.mismatches);
  }, 30_000);

  it('every bad input is refused with what to change, and nothing changes on the host', async () => {
    await qos.apply(
      connA,
      uuid,
      iface,
      planQos(
        { unit: 'Mbit/s', burstUnit: 'KiB', inbound: { average: 10, peak: 20, burst: 64 } },
        { type: iface.type, uri: URI },
      ),
      ['live', 'config'],
    );
    const before = storedOnA();
    const target = { type: iface.type, uri: URI };
    const bad: [string, QosChange, typeof target, RegExp][] = [
      [
        'rounds to zero',
        { unit: 'kbit/s', burstUnit: 'KiB', inbound: { average: 3 } },
        target,
        /would store as 0, meaning no limit/,
      ],
      [
        'peak below average',
        { unit: 'Mbit/s', burstUnit: 'KiB', inbound: { average: 10, peak: 5 } },
        target,
        /peak must be at least the average/,
      ],
      [
        'rate above the maximum',
        { unit: 'Gbit/s', burstUnit: 'KiB', inbound: { average: 40_000 } },
        target,
        /above libvirt's maximum/,
      ],
      [
        'burst above what tc takes',
        { unit: 'Mbit/s', burstUnit: 'KiB', inbound: { average: 10, burst: 4_194_304 } },
        target,
        /largest burst tc accepts/,
      ],
      [
        'floor on a bridge',
        { unit: 'Mbit/s', burstUnit: 'KiB', inbound: { average: 10, floor: 5 } },
        target,
        /floor needs an interface of type 'network'/,
      ],
      [
        'outbound peak',
        { unit: 'Mbit/s', burstUnit: 'KiB', outbound: { average: 10, peak: 20 } },
        target,
        /outbound peak is ignored by the kernel/,
      ],
      ['session-mode daemon', mbit(10), { ...target, uri: 'qemu:///session' }, /session-mode libvirt/],
    ];
    for (const [what, change, to, message] of bad) {
      const error = await qos.apply(connA, uuid, iface, planQos(change, to), ['live', 'config']).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error, what).toBeInstanceOf(QosRefused);
      expect(error!.message, what).toMatch(message);
    }
    expect(storedOnA()).toBe(before);
  }, 30_000);

  it("the hostile-named domain's interface takes a persistent limit, read back (the name never reaches a shell)", async () => {
    const hostileUuid = onHost(
      A,
      'for u in $(virsh -q list --all --uuid); do virsh -q dumpxml "$u" | grep -q "52:54:00:00:01:65" && echo "$u"; done',
    ).trim();
    expect(hostileUuid).toMatch(/^[0-9a-f-]{36}$/);
    const [hostileIface] = await qos.interfaces(connA, hostileUuid, false);
    expect(hostileIface).toMatchObject({ mac: '52:54:00:00:01:65', type: 'bridge', device: undefined });
    try {
      const result = await qos.apply(
        connA,
        hostileUuid,
        hostileIface,
        planQos(mbit(10), { type: hostileIface.type, uri: URI }),
        ['config'],
      );
      expect(result.mismatches).toEqual([]);
      expect(result.stored.config?.inbound).toMatchObject({ average: 1250 });
      expect(result.kernel).toBeUndefined(); // shut off: nothing to read on a device
    } finally {
      onHost(A, `virsh -q domiftune ${hostileUuid} 52:54:00:00:01:65 --config --inbound 0 --outbound 0 >/dev/null`);
    }
    expect(onHost(A, 'ls -a / /root /tmp 2>/dev/null | grep ferry-pwned || true').trim()).toBe('');
  }, 30_000);

  it('the limit survives a migration: the target applies it to its new tap, and the run says so', async () => {
    await qos.apply(connA, uuid, iface, planQos(mbit(10), { type: iface.type, uri: URI }), ['live', 'config']);
    const registry = new HostRegistry(
      {
        connection: { connectTimeoutMs: 5000, keepaliveIntervalMs: 1000 },
        settings: { sshConfigPath: lab.sshConfig, libvirtUri: URI },
      },
      log,
    );
    const runner = new MigrationRunner(registry, memoryStore(), { libvirtUri: URI }, log);
    try {
      registry.setHosts([A, B]);
      await waitFor('both hosts listed', () => registry.hosts.every((h) => h.domains), 20_000);
      const { done } = await runner.start({
        sourceAlias: A,
        targetAlias: B,
        domainUuid: uuid,
        domainName: 'tiny1',
        options: PROFILES.safe.options,
      });
      const record = await done;
      expect(record.phase).toBe('completed');
      expect(record.findings?.filter((f) => f.id.startsWith('qos-'))).toEqual([
        expect.objectContaining({
          id: 'qos-kept',
          title: `Interface limits kept on ${B}`,
          evidence: expect.stringMatching(/↓ 10 Mbit\/s, enforced on vnet\d+/),
        }),
      ]);
      const [onB] = await qos.interfaces(registry.get(B)!.connection, uuid, true);
      expect(onB.bandwidth.inbound).toMatchObject({ average: 1250 });
      expect(onB.kernelProblems).toEqual([]);
      const kernel = await qos.kernel(registry.get(B)!.connection, onB.device!);
      expect(kernel.htb?.rateBits).toBe(10e6);
    } finally {
      runner.dispose();
      registry.dispose();
      clearLimits(tiny1.whereIs() ?? B);
      tiny1.ensureOnA();
    }
  }, 120_000);
});
