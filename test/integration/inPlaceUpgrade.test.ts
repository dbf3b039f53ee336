/**
 * The in-place QEMU upgrade against the lab: tiny1 moves into a transient second libvirt daemon on hostA and back,
 * onto the replaced emulator, as one operation; and whatever dies on the way (Ferry's link, the second daemon in
 * either hop, the system daemon in the way back), tiny1 keeps running and the host is left as it was.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { InPlacePostcopy } from '../../src/core/inPlace';
import { PROFILES } from '../../src/core/migration/job';
import type { MigrationRecord } from '../../src/core/migration/record';
import { describeStale } from '../../src/core/qemuBinary';
import { HostRegistry } from '../../src/services/hostRegistry';
import { livePlanDeps, MigrationRunner } from '../../src/services/migration';
import { QemuBinaries } from '../../src/services/qemuBinaries';
import type { UpgradeRow } from '../../src/services/qemuUpgrade';
import { inPlace, planUpgrade } from '../../src/services/qemuUpgrade';
import { checkDomainInPlace } from '../../src/services/inPlaceUpgrade';
import {
  dropLink,
  guestFilled,
  guestStatus,
  holdEchoConnections,
  lab,
  labCtl,
  labQemu,
  memoryLogger,
  memoryStore,
  onHost,
  scratchDomainXml,
  tiny1,
  waitFor,
} from './lab';

const A = lab.hosts[0].alias;
const letterA = lab.hosts[0].letter;
const URI = 'qemu:///system';
const tinyIp = lab.guests.tiny1.ip;
const log = memoryLogger();
const store = memoryStore();
let registry: HostRegistry;
let runner: MigrationRunner;
let qemu: QemuBinaries;
let emulator: string;
const copy = `${lab.lab}/hosts/${A}/qemu-upgraded`;
const tinyOn = () => registry.get(A)!.domains?.find((d) => d.name === 'tiny1');
const deps = () => ({ host: registry.get(A)!.connection, follow: (r: MigrationRecord) => runner.follow(r), log });

/** a new copy of the emulator over its path on hostA, as `apt upgrade` replaces the file under running domains */
async function installNewQemu() {
  onHost(A, `while umount -l '${emulator}' 2>/dev/null; do :; done; rm -f '${copy}'`);
  onHost(A, `cp -p '${emulator}' '${copy}' && mount --bind '${copy}' '${emulator}'`);
  await qemu.probe(A);
  expect(describeStale(qemu.state(A, tinyOn()!.uuid)!)).toMatch(/^runs a replaced QEMU 10\.\d+\.\d+ binary$/);
}

async function planInPlace(): Promise<UpgradeRow> {
  const preflight = livePlanDeps(registry, runner, URI, 200, log).preflight;
  const [row] = await planUpgrade(registry, qemu, [{ alias: A, domain: tinyOn()! }], preflight, PROFILES.safe.options, {
    uri: URI,
  });
  expect(row).toMatchObject({ method: 'inPlace', why: expect.stringMatching(/qualifies for in place/) });
  return row;
}

/** the host as it was: tiny1 running under the system daemon on one QEMU and one tap, nothing of the run left */
function expectHostAsItWas() {
  expect(onHost(A, 'virsh -q domstate tiny1').trim()).toBe('running');
  expect(onHost(A, `ps -eo args | grep -c '[f]erry-inplace\\.' || true`).trim()).toBe('0');
  expect(onHost(A, 'ls -d /run/ferry-inplace.* 2>/dev/null || true').trim()).toBe('');
  // every process's mounts, the second daemon's private namespace among them while it lives
  expect(onHost(A, `cat /proc/[0-9]*/mountinfo 2>/dev/null | grep -c ferry-inplace || true`).trim()).toBe('0');
  expect(onHost(A, `ip -br link | grep -c '^vnet' || true`).trim()).toBe('1');
  expect(onHost(A, `ps -eo args | grep -c '^[^ ]*qemu-system.*guest=tiny1,' || true`).trim()).toBe('1');
  expect(guestStatus(tinyIp)).toMatch(/verify_errors=0\b/);
}

/** the run's shadow daemon, once its log names it */
const shadowPid = () => onHost(A, `sed -n 's/^shadow=//p' /run/ferry-inplace.*/log 2>/dev/null | tail -n 1`).trim();

/** resolves once the hop's job has been read running a few times (Ferry sees it under way) */
const underWay = (record: MigrationRecord) =>
  waitFor(`${record.operationStep} under way`, () => (runner.get(record.id)?.samples.length ?? 0) >= 3, 60_000);

/**
 * tiny1 (200 MiB filled) upgraded in place, each hop capped at 20 MiB/s so that `fault` runs while `hop` is under way
 * (its first attempt); resolves with the outcome once the fault has been done too.
 */
async function upgradeWith(postcopy: InPlacePostcopy, hop: 1 | 2, fault: () => unknown) {
  const row = await planInPlace();
  await guestFilled(tinyIp, 200, 'idle');
  let faulted: Promise<unknown> | undefined;
  const outcome = await inPlace(
    deps(),
    qemu,
    row,
    postcopy,
    (n, record) => {
      if (n === hop && !faulted) faulted = underWay(record).then(fault);
    },
    20,
  );
  await faulted;
  return outcome;
}

beforeAll(async () => {
  labCtl('ct', 'loose');
  tiny1.ensureOnA();
  registry = new HostRegistry(
    {
      connection: { connectTimeoutMs: 5000, keepaliveIntervalMs: 1000 },
      settings: { sshConfigPath: lab.sshConfig, libvirtUri: URI },
    },
    log,
  );
  registry.setHosts([A]);
  await waitFor('tiny1 running on A', () => tinyOn()?.state === 'running', 20_000);
  runner = new MigrationRunner(registry, store, { libvirtUri: URI }, log);
  qemu = new QemuBinaries(registry, log);
  // the file the lab's <emulator> wrapper execs; never a path read back from a QEMU that may run a removed copy
  emulator = labQemu();
  expect(onHost(A, `test -f '${emulator}' && echo file`).trim()).toBe('file');
  onHost(A, `while umount -l '${emulator}' 2>/dev/null; do :; done; rm -f '${copy}'`);
}, 120_000);

beforeEach(async () => {
  await waitFor('tiny1 running on A', () => tinyOn()?.state === 'running', 60_000);
  await installNewQemu();
}, 120_000);

afterAll(() => {
  onHost(A, `while umount -l '${emulator}' 2>/dev/null; do :; done; rm -f '${copy}'`);
  labCtl('libvirtd', 'start', letterA);
  qemu?.dispose();
  runner?.dispose();
  registry?.dispose();
  labCtl('ct', 'strict');
  tiny1.ensureOnA();
});

describe('QEMU upgrade in place against the lab', () => {
  it('moves tiny1 into a second daemon and back onto the new binary: one run of two hops, memory and connections intact', async () => {
    const row = await planInPlace();
    const before = onHost(A, 'virsh dumpxml --inactive tiny1');
    const pidBefore = onHost(A, `pgrep -f '[g]uest=tiny1,'`).trim();
    await guestFilled(tinyIp, 100, 'idle');
    const opened: string[] = [];
    const held = await holdEchoConnections(tinyIp, 5, () =>
      inPlace(deps(), qemu, row, 'auto', (hop, record) => opened.push(`${hop} ${record.operationStep}`)),
    );
    const outcome = held.result;
    console.log(`in place: ${outcome.message}`);
    expect(outcome.message).toMatch(
      /^tiny1 now runs the installed QEMU 10\.\d+\.\d+ on hostA \(in place: hop 1 paused \d+ ms, hop 2 \d+ ms, \d+ ms in all\)\.$/,
    );
    expect(outcome.ok).toBe(true);
    expect(opened).toEqual(['1 upgrading QEMU in place, hop 1 of 2', '2 upgrading QEMU in place, hop 2 of 2']);
    expect(
      outcome.legs.map((l) => [l.source, l.target, l.phase, l.targetUri ? 'shadow' : l.sourceUri ? 'back' : '']),
    ).toEqual([
      [A, A, 'completed', 'shadow'],
      [A, A, 'completed', 'back'],
    ]);
    // one history entry with both hops, the pauses summed
    const [run, ...more] = store.history.filter((r) => r.operationId === outcome.legs[0].operationId);
    expect(more).toEqual([]);
    expect(run.parts!.map((p) => [p.step, p.phase])).toEqual([
      ['upgrading QEMU in place, hop 1 of 2', 'completed'],
      ['upgrading QEMU in place, hop 2 of 2', 'completed'],
    ]);
    expect(run.summary!.downtimeMs).toBe(outcome.legs[0].summary!.downtimeMs! + outcome.legs[1].summary!.downtimeMs!);
    expect(held.lastOk).toBe(5);
    expect(qemu.staleOn(A)).toEqual([]);
    expect(onHost(A, `pgrep -f '[g]uest=tiny1,'`).trim()).not.toBe(pidBefore);
    // the persistent definition is the system daemon's, untouched
    expect(onHost(A, 'virsh dumpxml --inactive tiny1')).toBe(before);
    expectHostAsItWas();
  }, 240_000);

  it('the second daemon killed in hop 1: tiny1 runs on under the system daemon, and the message says so', async () => {
    const outcome = await upgradeWith('off', 1, () => onHost(A, `kill -9 ${shadowPid()}`));
    console.log(`shadow killed in hop 1: ${outcome.message}`);
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toMatch(
      /^tiny1 stayed under the system daemon on hostA and runs as before: the move into the second daemon failed \(.+\)\.$/,
    );
    expect(outcome.legs.map((l) => l.phase)).toEqual(['failed']);
    await qemu.probe(A);
    expect(qemu.staleOn(A)).toHaveLength(1); // not moved: still on the replaced binary
    expectHostAsItWas();
  }, 240_000);

  it('the second daemon killed in hop 2: it is started again, takes up the domain, and the way back is tried again', async () => {
    const outcome = await upgradeWith('off', 2, () => onHost(A, `kill -9 ${shadowPid()}`));
    console.log(`shadow killed in hop 2: ${outcome.message}`);
    expect(outcome.message).toMatch(/^tiny1 now runs the installed QEMU 10\.\d+\.\d+ on hostA \(in place/);
    expect(outcome.ok).toBe(true);
    expect(outcome.legs.map((l) => [l.operationStep, l.phase])).toEqual([
      ['upgrading QEMU in place, hop 1 of 2', 'completed'],
      ['upgrading QEMU in place, hop 2 of 2', 'failed'],
      ['upgrading QEMU in place, hop 2 of 2, again', 'completed'],
    ]);
    expectHostAsItWas();
  }, 240_000);

  it('the system daemon restarted in hop 2: the way back waits for it and is tried again', async () => {
    const outcome = await upgradeWith('off', 2, () => {
      labCtl('libvirtd', 'stop', letterA);
      labCtl('libvirtd', 'start', letterA);
    });
    console.log(`system daemon restarted in hop 2: ${outcome.message}`);
    expect(outcome.ok).toBe(true);
    expect(outcome.legs.map((l) => l.phase)).toEqual(['completed', 'failed', 'completed']);
    expectHostAsItWas();
  }, 240_000);

  for (const hop of [1, 2] as const)
    it(`Ferry's link dropped in hop ${hop}: the host goes on, and Ferry re-attaches and finishes`, async () => {
      const outcome = await upgradeWith('auto', hop, () => dropLink(A, 6));
      console.log(`link dropped in hop ${hop}: ${outcome.message}`);
      expect(outcome.message).toMatch(
        /^tiny1 now runs the installed QEMU 10\.\d+\.\d+ on hostA \(in place: hop 1 paused \d+ ms, hop 2 \d+ ms, \d+ ms in all\)\./,
      );
      expect(outcome.ok).toBe(true);
      expect(outcome.legs.map((l) => l.phase)).toEqual(['completed', 'completed']);
      expectHostAsItWas();
    }, 240_000);

  it("a domain with a local disk image: the image stays the running QEMU's through both hops, and is given back when it stops", async () => {
    const image = '/var/lib/libvirt/images/ferry-inplace-disk.raw';
    const uuid = '5f0e6c1a-3b7d-4e2a-9c61-00000000d15c';
    onHost(A, `mkdir -p /var/lib/libvirt/images && rm -f ${image} && truncate -s 16M ${image} && chmod 600 ${image}`);
    const xml = scratchDomainXml(uuid, 'ferry-inplace-disk').replace(
      '</devices>',
      `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${image}'/><target dev='vdb' bus='virtio'/></disk></devices>`,
    );
    onHost(
      A,
      `printf '%s' "${xml.replace(/"/g, '\\"')}" | virsh -q define /dev/stdin >/dev/null && virsh -q start ${uuid} >/dev/null`,
    );
    try {
      const owner = () => onHost(A, `stat -c %u ${image}`).trim();
      const qemuUid = () => onHost(A, `ps -o uid= -p $(pgrep -f '[g]uest=ferry-inplace-disk,')`).trim();
      expect(owner()).toBe(qemuUid());
      await registry.get(A)!.refresh();
      const domain = registry.get(A)!.findDomain(uuid)!;
      const row: UpgradeRow = { alias: A, domain, method: 'inPlace', why: 'test', expectedPause: 'test' };
      const outcome = await inPlace(deps(), qemu, row, 'auto', () => undefined);
      console.log(`local disk: ${outcome.message}; image owner ${owner()}, QEMU uid ${qemuUid()}`);
      expect(outcome.message).toMatch(
        /^ferry-inplace-disk now runs the installed QEMU .*\(in place: hop 1 paused \d+ ms, hop 2 \d+ ms/,
      );
      expect(outcome.ok).toBe(true);
      expect(owner()).toBe(qemuUid());
      // the guest's disk is still open read-write in the new QEMU
      expect(onHost(A, `ls -l /proc/$(pgrep -f '[g]uest=ferry-inplace-disk,')/fd | grep -c ${image}`).trim()).not.toBe(
        '0',
      );
      onHost(A, `virsh -q destroy ${uuid} >/dev/null`);
      expect(owner()).toBe('0'); // libvirt gives the image back to its owner once no QEMU of it runs
    } finally {
      onHost(A, `virsh -q destroy ${uuid} >/dev/null 2>&1; virsh -q undefine ${uuid} >/dev/null 2>&1; rm -f ${image}`);
    }
  }, 240_000);

  it('refuses, before anything moves, a domain whose tap name and display port are fixed, saying what to change', async () => {
    const uuid = '5f0e6c1a-3b7d-4e2a-9c61-0000000f1ced';
    const xml = scratchDomainXml(uuid, 'ferry-inplace-fixed').replace(
      '</devices>',
      "<interface type='bridge'><source bridge='br0'/><target dev='ferryfixed0'/><model type='virtio'/></interface>" +
        "<graphics type='vnc' port='5977' autoport='no' listen='127.0.0.1'/></devices>",
    );
    onHost(A, `printf '%s' "${xml}" | virsh -q define /dev/stdin >/dev/null && virsh -q start ${uuid} >/dev/null`);
    try {
      await registry.get(A)!.refresh();
      const check = await checkDomainInPlace(registry.get(A)!.connection, URI, registry.get(A)!.findDomain(uuid)!);
      console.log(`fixed tap and port: ${check.refusals.join(' | ')}`);
      expect(check.ok).toBe(false);
      expect(check.refusals).toEqual([
        expect.stringMatching(
          /^fixed tap name ferryfixed0: the running QEMU holds it while the new one starts; remove <target dev=…>/,
        ),
        expect.stringMatching(/^fixed display port vnc 5977: .*set autoport='yes', or use the round trip$/),
      ]);
    } finally {
      onHost(A, `virsh -q destroy ${uuid} >/dev/null 2>&1; virsh -q undefine ${uuid} >/dev/null 2>&1`);
    }
  });
});
