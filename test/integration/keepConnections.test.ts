import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationOptions } from '../../src/core/migration/job';
import { PROFILES } from '../../src/core/migration/job';
import { HostRegistry } from '../../src/services/hostRegistry';
import { MigrationRunner } from '../../src/services/migration';
import {
  dropLink,
  guestDirty,
  guestFilled,
  holdEchoConnections,
  lab,
  labCtl,
  memoryLogger,
  memoryStore,
  onHost,
  tiny1,
  waitFor,
} from './lab';

// The lab's strict ruleset (only established flows admitted to guests, nf_conntrack_tcp_loose=0): a host
// without a flow's conntrack entry drops its packets. This is the problem "Keep TCP connections" solves.
const [A, B] = lab.hosts.map((h) => h.alias);
const tiny = lab.guests.tiny1.ip;
let registry: HostRegistry;
let runner: MigrationRunner;
const safe: MigrationOptions = { ...PROFILES.safe.options, persistent: true, undefineSource: true };
const uuid = () =>
  (onHost(A, 'virsh -q list --name').includes('tiny1')
    ? onHost(A, 'virsh -q domuuid tiny1')
    : onHost(B, 'virsh -q domuuid tiny1')
  ).trim();
/** packets the host's ruleset dropped on their way to a guest */
const drops = (alias: string) =>
  Number(
    /counter packets (\d+) bytes \d+ drop/.exec(onHost(alias, 'nft list chain inet labct forward_ct'))?.[1] ?? NaN,
  );

beforeAll(async () => {
  labCtl('ct', 'strict');
  registry = new HostRegistry(
    {
      connection: { connectTimeoutMs: 5000, keepaliveIntervalMs: 5000 },
      settings: { sshConfigPath: lab.sshConfig, libvirtUri: 'qemu:///system' },
    },
    memoryLogger(),
  );
  registry.setHosts([A, B]);
  await waitFor('hosts listed', () => registry.hosts.every((h) => h.domains), 20_000);
  runner = new MigrationRunner(registry, memoryStore(), { libvirtUri: 'qemu:///system' }, memoryLogger());
  tiny1.ensureOnA();
  guestDirty(tiny, 64, 'idle');
}, 120_000);
afterAll(() => {
  runner.dispose();
  registry.dispose();
});

describe('keeping TCP connections across a migration (strict firewall)', () => {
  it('without the option, the connections stall on the target (the lab reproduces the problem)', async () => {
    // entries other tests left on B (loose mode picks flows up; ESTABLISHED lasts 5 days) would let a reused
    // client port through: B starts with none for the guest
    onHost(B, `conntrack -D -d ${tiny} >/dev/null 2>&1; conntrack -D -s ${tiny} >/dev/null 2>&1; true`);
    const dropsBefore = drops(B);
    const held = await holdEchoConnections(
      tiny,
      10,
      async () =>
        (await runner.start({ sourceAlias: A, targetAlias: B, domainUuid: uuid(), domainName: 'tiny1', options: safe }))
          .done,
    );
    expect(held.result.phase).toBe('completed');
    expect(held.lastOk).toBe(0);
    expect(drops(B)).toBeGreaterThan(dropsBefore);
  }, 200_000);

  it('with "keep TCP connections", all 20 keep echoing in every round, nothing is dropped, and the extra pause is reported', async () => {
    // the stalled connections of the previous test are dead; open 20 new ones on hostB
    onHost(B, `conntrack -D -d ${tiny} >/dev/null 2>&1; true`);
    const dropsBefore = drops(A);
    const held = await holdEchoConnections(
      tiny,
      20,
      async () =>
        (
          await runner.start({
            sourceAlias: B,
            targetAlias: A,
            domainUuid: uuid(),
            domainName: 'tiny1',
            options: { ...safe, keepTcpConnections: true },
            keepConnections: { addresses: [tiny], budgetMs: 200 },
          })
        ).done,
      7, // up to five TCP retransmissions across the switchover
    );
    console.log(`gate: ${JSON.stringify(held.result.gate)}; rounds ${held.rounds}, min ${held.minOk}/20`);
    expect(held.result.phase).toBe('completed');
    expect(held.minOk).toBe(20);
    expect(held.lastOk).toBe(20);
    expect(drops(A)).toBe(dropsBefore);
    expect(held.result.gate).toMatchObject({ finalChanged: expect.any(Number), missing: 0 });
    expect(held.result.gate!.bulkEntries).toBeGreaterThanOrEqual(20);
    expect(held.result.gate!.extraPauseMs).toBeGreaterThan(0);
    expect(held.result.gate!.error).toBeUndefined();
    expect(onHost(A, 'virsh -q domstate tiny1').trim()).toBe('running');
  }, 120_000);

  it("when the target's SSH link dies before the resume, the run still ends, is recorded, and says what went wrong", async () => {
    // a registry that notices a dead link within ~3 s; the gate's channels to hostB were opened on the old link
    const quick = new HostRegistry(
      {
        connection: { connectTimeoutMs: 5000, keepaliveIntervalMs: 1000 },
        settings: { sshConfigPath: lab.sshConfig, libvirtUri: 'qemu:///system' },
      },
      memoryLogger(),
    );
    quick.setHosts([A, B]);
    const store = memoryStore();
    const gated = new MigrationRunner(quick, store, { libvirtUri: 'qemu:///system' }, memoryLogger());
    try {
      await waitFor('hosts listed', () => quick.hosts.every((h) => h.domains), 20_000);
      await guestFilled(tiny, 200, 'idle'); // at 20 MiB/s, ~10 s to move: time to cut hostB's link in the middle
      const { record, done } = await gated.start({
        sourceAlias: A,
        targetAlias: B,
        domainUuid: uuid(),
        domainName: 'tiny1',
        options: { ...safe, bandwidthMiBps: 20, keepTcpConnections: true },
        keepConnections: { addresses: [tiny], budgetMs: 200 },
      });
      await waitFor('data flowing', () => (gated.get(record.id)?.last?.dataProcessed ?? 0) > 20 * 1048576, 30_000);
      await dropLink(B, 6);
      const end = await done;
      expect(end.phase).toBe('completed');
      expect(end.gate?.error).toMatch(new RegExp(`resuming on ${B}`));
      expect(store.history.map((r) => r.id)).toEqual([record.id]);
      // the source's failsafe resumes the domain on the target when Ferry could not
      await waitFor(
        'tiny1 running on hostB',
        () => onHost(B, 'virsh -q domstate tiny1 2>/dev/null || true').trim() === 'running',
        60_000,
      );
    } finally {
      gated.dispose();
      quick.dispose();
      guestDirty(tiny, 64, 'idle');
      tiny1.ensureOnA();
    }
  }, 180_000);
});
