import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationOptions } from '../../src/core/migration';
import { PROFILES } from '../../src/core/migration';
import { HostRegistry } from '../../src/services/hostRegistry';
import type { MigrationRecord, MigrationStore } from '../../src/services/migration';
import { MigrationRunner } from '../../src/services/migration';
import { runPreflight } from '../../src/services/preflight';
import { guestDirty, guestStatus, lab, labCtl, memoryLogger, onHost, waitFor } from './lab';

const [A, B, C] = lab.hosts.map((h) => h.alias);
const tiny = lab.guests.tiny1.ip;
const history: MigrationRecord[] = [];
const store: MigrationStore = { loadActive: () => [], saveActive: async () => {}, addToHistory: async (r) => void history.push(r) };
const log = memoryLogger();
let registry: HostRegistry;
let runner: MigrationRunner;
const uuidOf = () => onHost(A, 'virsh -q domuuid tiny1 2>/dev/null || true').trim() || onHost(B, 'virsh -q domuuid tiny1').trim();
const whereIsTiny = () => (onHost(A, 'virsh -q list --name').includes('tiny1') ? A : onHost(B, 'virsh -q list --name').includes('tiny1') ? B : undefined);
const opts = (o: Partial<MigrationOptions> = {}): MigrationOptions => ({ ...PROFILES.safe.options, ...o });

async function migrate(from: string, to: string, o: MigrationOptions) {
  const { done } = await runner.start({ sourceAlias: from, targetAlias: to, domainUuid: uuidOf(), domainName: 'tiny1', options: o });
  return done;
}

beforeAll(async () => {
  labCtl('ct', 'loose'); // these tests keep connections through migrations without conntrack sync
  registry = new HostRegistry({ connection: { connectTimeoutMs: 5000, keepaliveIntervalMs: 1000 }, sshConfigPath: () => lab.sshConfig, libvirtUri: () => 'qemu:///system' }, log);
  registry.setHosts([A, B, C]);
  await waitFor('all hosts listed', () => registry.hosts.every((h) => h.domains), 20_000);
  runner = new MigrationRunner(registry, store, () => 'qemu:///system', log);
  // start from tiny1 running on A
  const at = whereIsTiny();
  if (at === B) onHost(B, `virsh -q migrate --live --p2p --persistent --undefinesource tiny1 'qemu+ssh://root@${lab.hosts[0].address}/system?no_tty=1'`);
  if (!whereIsTiny()) onHost(A, 'virsh -q start tiny1');
  guestDirty(tiny, 64, 'idle');
}, 120_000);

afterAll(() => {
  runner.dispose();
  registry.dispose();
  labCtl('ct', 'strict');
});

describe('live migration against the lab', () => {
  it('preflight passes A→B with evidence, and fails for a missing kernel file and for the same host', async () => {
    const domain = registry.get(A)!.domains!.find((d) => d.name === 'tiny1')!;
    const input = { uri: 'qemu:///system', source: registry.get(A)!.connection, target: registry.get(B)!.connection, targetHost: await registry.resolve(B), domain, options: opts() };
    const ok = await runPreflight(input);
    expect(ok.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(ok.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['state', 'reach', 'same-host', 'versions', 'memory', 'cpu', 'files']));
    expect(ok.checks.find((c) => c.id === 'cpu')!.evidence).toMatch(/superset|identical/);

    onHost(C, 'mv /var/lib/libvirt/boot/tiny-vmlinux /var/lib/libvirt/boot/tiny-vmlinux.away');
    try {
      const missing = await runPreflight({ ...input, target: registry.get(C)!.connection, targetHost: await registry.resolve(C) });
      expect(missing.checks.find((c) => c.id === 'files')).toMatchObject({ status: 'fail', evidence: expect.stringContaining('/var/lib/libvirt/boot/tiny-vmlinux') });
    } finally {
      onHost(C, 'mv /var/lib/libvirt/boot/tiny-vmlinux.away /var/lib/libvirt/boot/tiny-vmlinux');
    }
    const same = await runPreflight({ ...input, target: registry.get(A)!.connection, targetHost: await registry.resolve(A) });
    expect(same.checks.find((c) => c.id === 'same-host')).toMatchObject({ status: 'fail' });
  });

  it('migrates A→B (precopy) and back with persistent + undefine-source; the guest verifies its memory', async () => {
    guestDirty(tiny, 200, 50);
    const there = await migrate(A, B, opts());
    expect(there.phase).toBe('completed');
    expect(there.summary).toMatchObject({ type: 'completed' });
    expect(there.summary!.dataProcessed).toBeGreaterThan(100 * 1048576);
    expect(whereIsTiny()).toBe(B);
    const back = await migrate(B, A, opts({ persistent: true, undefineSource: true }));
    expect(back.phase).toBe('completed');
    expect(onHost(B, 'virsh -q list --all --name')).not.toContain('tiny1');
    expect(onHost(A, 'virsh -q dominfo tiny1')).toMatch(/Persistent:\s+yes/);
    expect(guestStatus(tiny)).toMatch(/verify_errors=0/);
  }, 120_000);

  it('migrates with 4 parallel connections', async () => {
    const r = await migrate(A, B, opts({ parallelConnections: 4 }));
    expect(r.phase).toBe('completed');
    const back = await migrate(B, A, opts({ persistent: true, undefineSource: true }));
    expect(back.phase).toBe('completed');
    expect(guestStatus(tiny)).toMatch(/verify_errors=0/);
  }, 120_000);

  it('changes bandwidth mid-flight (visible in the next samples) and aborts, leaving the domain running on A', async () => {
    guestDirty(tiny, 300, 'idle');
    const { record, done } = await runner.start({ sourceAlias: A, targetAlias: B, domainUuid: uuidOf(), domainName: 'tiny1', options: opts({ bandwidthMiBps: 20 }) });
    const live = () => runner.running.find((r) => r.id === record.id);
    const slow = await waitFor('samples at the 20 MiB/s cap', () => {
      const r = live();
      return r && r.samples.filter((s) => (s.stats.memoryBps ?? 0) > 0).length >= 2 ? r : undefined;
    }, 20_000);
    const bpsBefore = slow.samples.at(-1)!.stats.memoryBps!;
    expect(bpsBefore).toBeLessThan(30 * 1048576);
    await runner.setBandwidth(record.id, 60);
    await waitFor('a sample above 40 MiB/s', () => live()?.samples.some((s) => (s.stats.memoryBps ?? 0) > 40 * 1048576), 10_000);
    await runner.abort(record.id);
    const end = await done;
    expect(end.phase).toBe('aborted');
    expect(whereIsTiny()).toBe(A);
    expect(onHost(B, 'virsh -q list --all --name')).not.toContain('tiny1');
    expect(guestStatus(tiny)).toMatch(/verify_errors=0/);
  }, 120_000);

  it('refuses bad input before anything starts', async () => {
    const uuid = uuidOf();
    const start = (o: Partial<MigrationOptions>, to = B) => runner.start({ sourceAlias: A, targetAlias: to, domainUuid: uuid, domainName: 'tiny1', options: opts(o) });
    await expect(start({ bandwidthMiBps: 0 })).rejects.toThrow(/bandwidth must be a whole number of MiB\/s above 0/);
    await expect(start({ bandwidthMiBps: -5 })).rejects.toThrow(/bandwidth/);
    await expect(start({ zeroCopy: true })).rejects.toThrow(/zero-copy send needs parallel connections/);
    await expect(start({ postcopy: 'manual', parallelConnections: 4 })).rejects.toThrow(/multifd/);
    await expect(start({}, A)).rejects.toThrow(/same host/);
    expect(whereIsTiny()).toBe(A);
  });
});
