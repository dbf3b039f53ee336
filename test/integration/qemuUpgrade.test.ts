import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES } from '../../src/core/migration/job';
import { describeStale } from '../../src/core/qemuBinary';
import { HostRegistry } from '../../src/services/hostRegistry';
import type { MigrationDecisions } from '../../src/services/migration';
import { livePlanDeps, MigrationRunner } from '../../src/services/migration';
import { QemuBinaries } from '../../src/services/qemuBinaries';
import { planUpgrade, roundTrip, saveAndRestore } from '../../src/services/qemuUpgrade';
import {
  guestFilled,
  guestStatus,
  holdEchoConnections,
  lab,
  labCtl,
  labQemu,
  memoryLogger,
  memoryStore,
  onHost,
  tiny1,
  waitFor,
} from './lab';

// A QEMU "upgrade" on one lab host: a new copy of the emulator (new inode) bind-mounted over its path inside that
// host's mount namespace, as `apt upgrade` would replace the file under running domains.
const [A, B] = lab.hosts.map((h) => h.alias);
const URI = 'qemu:///system';
const tinyIp = lab.guests.tiny1.ip;
const log = memoryLogger();
const options = PROFILES.safe.options;
const copyOn = (alias: string) => `${lab.lab}/hosts/${alias}/qemu-upgraded`;
const replaceEmulator = (alias: string, emulator: string) =>
  onHost(
    alias,
    `rm -f '${copyOn(alias)}'; cp -p '${emulator}' '${copyOn(alias)}' && mount --bind '${copyOn(alias)}' '${emulator}'`,
  );
// lazily: the file is busy while a QEMU runs it (that QEMU keeps it; the path shows the original again)
const restoreEmulator = (alias: string, emulator: string) =>
  onHost(alias, `umount -l '${emulator}' 2>/dev/null; rm -f '${copyOn(alias)}'`);
const decisions: MigrationDecisions = {
  duringPreflight: (work) => work(),
  preflightFailed: (failed) => log.warn(`preflight failed: ${failed.map((c) => c.title).join(', ')}`),
  acceptWarnings: async () => true,
  addresses: async () => undefined,
  rememberOptions: async () => undefined,
};
let registry: HostRegistry;
let runner: MigrationRunner;
const store = memoryStore();
let qemu: QemuBinaries;
let emulator: string;
const deps = () => livePlanDeps(registry, runner, URI, 200, log);
const tinyOn = (alias: string) => registry.get(alias)!.domains?.find((d) => d.name === 'tiny1');

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
  registry.setHosts([A, B]);
  await waitFor(
    'both hosts listed with tiny1 on A',
    () => registry.hosts.every((h) => h.domains) && tinyOn(A)?.state === 'running',
    20_000,
  );
  runner = new MigrationRunner(registry, store, { libvirtUri: URI }, log);
  qemu = new QemuBinaries(registry, log);
  await qemu.probe(A);
  // the file tiny1's QEMU runs: the lab's <emulator> is a wrapper script that execs it (lab/install-deps.sh)
  emulator = labQemu(); // never a path read back from a QEMU that may run a removed copy
  // copies an interrupted run (or the UI test) left mounted over the emulator's path come off first
  onHost(A, `while umount -l '${emulator}' 2>/dev/null; do :; done; rm -f '${copyOn(A)}'`);
  await qemu.probe(A);
  if (qemu.staleOn(A).length) {
    // an interrupted run left tiny1 on a copy that is gone: a new QEMU process (away and back) starts from the file
    restoreEmulator(A, emulator);
    onHost(A, `virsh -q migrate --live --p2p tiny1 'qemu+ssh://root@${lab.hosts[1].address}/system?no_tty=1'`);
    tiny1.ensureOnA();
    await waitFor('tiny1 back on A', () => tinyOn(A)?.state === 'running', 30_000);
    await qemu.probe(A);
  }
}, 120_000);
afterAll(() => {
  restoreEmulator(A, emulator);
  labCtl('libvirtd', 'start', lab.hosts[0].letter);
  qemu.dispose();
  runner.dispose();
  registry.dispose();
  labCtl('ct', 'strict');
  tiny1.ensureOnA();
});

describe('QEMU hot-upgrade against the lab', () => {
  it('a replaced emulator flags tiny1 on its host; the round trip moves it onto the new binary, memory intact, connections alive', async () => {
    const domain = tinyOn(A)!;
    expect(qemu.staleOn(A)).toEqual([]);
    replaceEmulator(A, emulator);
    await qemu.probe(A);
    await qemu.probe(B);
    expect(describeStale(qemu.state(A, domain.uuid)!)).toMatch(/^runs a replaced QEMU 10\.\d+\.\d+ binary$/);
    expect(qemu.staleOn(A)).toEqual([domain.uuid]);
    expect(qemu.staleOn(B)).toEqual([]);
    const [row] = await planUpgrade(registry, qemu, [{ alias: A, domain }], deps().preflight, options, undefined);
    expect(row).toMatchObject({
      method: 'roundTrip',
      peer: B,
      expectedPause: expect.stringMatching(/two switchovers/),
    });
    await guestFilled(tinyIp, 100, 'idle');
    const held = await holdEchoConnections(tinyIp, 5, () =>
      roundTrip(deps(), qemu, row, 'safe', options, decisions, () => undefined),
    );
    const outcome = held.result;
    expect(outcome.message).toMatch(
      /^tiny1 now runs the installed QEMU 10\.\d+\.\d+ on hostA \(round trip via hostB\)\.$/,
    );
    expect(outcome.ok).toBe(true);
    expect(outcome.legs.map((l) => [l.source, l.target, l.phase])).toEqual([
      [A, B, 'completed'],
      [B, A, 'completed'],
    ]);
    expect(new Set(outcome.legs.map((l) => l.operationId)).size).toBe(1);
    expect(outcome.legs[0].operationId).toMatch(/^upgrade-/);
    // one history entry: the way there and back as one run in two parts
    const [run, ...more] = store.history.filter((r) => r.operationId === outcome.legs[0].operationId);
    expect(more).toEqual([]);
    expect(run).toMatchObject({ id: outcome.legs[0].id, phase: 'completed' });
    expect(run.parts!.map((p) => [p.source, p.target, p.phase])).toEqual([
      [A, B, 'completed'],
      [B, A, 'completed'],
    ]);
    expect(run.samples).toHaveLength(outcome.legs[0].samples.length + outcome.legs[1].samples.length);
    expect(run.summary!.downtimeMs).toBe(outcome.legs[0].summary!.downtimeMs! + outcome.legs[1].summary!.downtimeMs!);
    expect(run.markers.filter((m) => m.kind === 'part').map((m) => m.label)).toEqual([
      `upgrading QEMU, leg 2 of 2: ${B} → ${A}`,
    ]);
    expect(held.lastOk).toBe(5);
    expect(guestStatus(tinyIp)).toMatch(/verify_errors=0\b/);
    expect(qemu.staleOn(A)).toEqual([]);
  }, 180_000);

  it('with no other host, save and restore on the same host does it, with the pause measured and the guest intact', async () => {
    // the copy is unmounted and removed: tiny1 runs a file that is gone, stale again
    restoreEmulator(A, emulator);
    const alone = new HostRegistry(
      {
        connection: { connectTimeoutMs: 5000, keepaliveIntervalMs: 1000 },
        settings: { sshConfigPath: lab.sshConfig, libvirtUri: URI },
      },
      log,
    );
    const aloneQemu = new QemuBinaries(alone, log);
    try {
      alone.setHosts([A]);
      await waitFor('hostA listed', () => alone.get(A)!.domains?.some((d) => d.name === 'tiny1'), 20_000);
      const domain = alone.get(A)!.domains!.find((d) => d.name === 'tiny1')!;
      const [row] = await planUpgrade(alone, aloneQemu, [{ alias: A, domain }], deps().preflight, options, undefined);
      expect(row).toMatchObject({
        method: 'saveRestore',
        stale: expect.stringMatching(/^runs a replaced QEMU/),
        expectedPause: expect.stringMatching(
          /^at least ~\d+\.\d s, the guest paused for the whole save and restore \(512 MiB at the directory's measured \d+ MiB\/s\)$/,
        ),
      });
      expect(row.why).toMatch(
        /no other connected host can take it: saved to \/var\/lib\/libvirt\/qemu\/save and restored on hostA/,
      );
      await guestFilled(tinyIp, 100, 'idle');
      const held = await holdEchoConnections(tinyIp, 5, () =>
        saveAndRestore(alone.get(A)!.connection, URI, aloneQemu, row),
      );
      const outcome = held.result;
      console.log(`qemu upgrade: ${outcome.message} (expected ${row.expectedPause})`);
      expect(outcome.message).toMatch(
        /^tiny1 now runs the installed QEMU 10\.\d+\.\d+ on hostA \(saved and restored: paused \d+\.\d s \(save \d+ ms, restore \d+ ms\)\)\.$/,
      );
      expect(outcome.ok).toBe(true);
      expect(outcome.pauseMs).toBeGreaterThan(0);
      expect(held.lastOk).toBe(5);
      expect(guestStatus(tinyIp)).toMatch(/verify_errors=0\b/);
      expect(onHost(A, 'ls /var/lib/libvirt/qemu/save')).not.toMatch(/ferry-upgrade/);
      expect(onHost(A, 'virsh -q domstate tiny1').trim()).toBe('running');
    } finally {
      aloneQemu.dispose();
      alone.dispose();
    }
  }, 180_000);

  it('a way back that fails leaves tiny1 running on the peer, and says where it is', async () => {
    // a new copy again: tiny1 runs the original file, the path shows another
    replaceEmulator(A, emulator);
    await qemu.probe(A);
    const domain = tinyOn(A)!;
    expect(qemu.staleOn(A)).toEqual([domain.uuid]);
    const [row] = await planUpgrade(registry, qemu, [{ alias: A, domain }], deps().preflight, options, undefined);
    // hostA's libvirtd stops once the first leg has completed, before the second starts
    const outcome = await roundTrip(deps(), qemu, row, 'safe', options, decisions, (leg, _record, done) => {
      if (leg === 1) void done.then(() => labCtl('libvirtd', 'stop', lab.hosts[0].letter));
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.where).toBe(B);
    expect(outcome.message).toMatch(
      /^tiny1 is running on hostB: the way back to hostA did not start \(preflight failed: .+\)\. Run the upgrade again, or migrate it back, once hostA can take it\.$/,
    );
    expect(onHost(B, 'virsh -q domstate tiny1').trim()).toBe('running'); // hostA's libvirtd is still stopped here
  }, 180_000);
});
