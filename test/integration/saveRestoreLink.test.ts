/**
 * Save and restore on the same host runs detached: a link that drops between the save and the restore does not
 * leave the domain off, and Ferry, once reconnected, reports what happened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostRegistry } from '../../src/services/hostRegistry';
import { QemuBinaries } from '../../src/services/qemuBinaries';
import type { UpgradeRow } from '../../src/services/qemuUpgrade';
import { saveAndRestore } from '../../src/services/qemuUpgrade';
import { dropLink, guestFilled, guestStatus, lab, memoryLogger, onHost, tiny1, waitFor } from './lab';

const A = lab.hosts[0].alias;
const URI = 'qemu:///system';
const tinyIp = lab.guests.tiny1.ip;
const log = memoryLogger();
let registry: HostRegistry;
let qemu: QemuBinaries;

beforeAll(async () => {
  tiny1.ensureOnA();
  // keepalive every second: a link down for longer than three is a dropped connection to Ferry
  registry = new HostRegistry(
    {
      connection: { connectTimeoutMs: 5000, keepaliveIntervalMs: 1000 },
      settings: { sshConfigPath: lab.sshConfig, libvirtUri: URI },
    },
    log,
  );
  qemu = new QemuBinaries(registry, log);
  registry.setHosts([A]);
  await waitFor(
    'tiny1 running on hostA',
    () => registry.get(A)!.domains?.find((d) => d.name === 'tiny1' && d.state === 'running'),
    20_000,
  );
}, 120_000);
afterAll(() => {
  qemu?.dispose();
  registry?.dispose();
});

describe('save and restore across a dropped link', () => {
  it('goes on to the restore on the host, and says the link dropped and what came of it', async () => {
    const domain = registry.get(A)!.domains!.find((d) => d.name === 'tiny1')!;
    const row: UpgradeRow = {
      alias: A,
      domain,
      stale: 'runs a replaced QEMU binary',
      method: 'saveRestore',
      why: 'test',
      expectedPause: 'test',
      expectedPauseMs: 3000,
    };
    await guestFilled(tinyIp, 200, 'idle');
    const running = saveAndRestore(registry.get(A)!.connection, URI, qemu, row);
    // once it is under way, the link goes for longer than Ferry's keepalive waits: its channels are gone
    await waitFor(
      'the save under way',
      () => /ferry-upgrade\./.test(onHost(A, 'ls /var/lib/libvirt/qemu/save')),
      20_000,
    );
    await dropLink(A, 6);
    const outcome = await running;
    console.log(`save and restore across a dropped link: ${outcome.message}`);
    expect(outcome.message).toMatch(
      /^tiny1 now runs the installed QEMU 10\.\d+\.\d+ on hostA \(saved and restored: paused \d+\.\d s \(save \d+ ms, restore \d+ ms\)\)\. Ferry's link to hostA dropped meanwhile; the host went on and Ferry read the outcome once it was back\.$/,
    );
    expect(outcome.ok).toBe(true);
    expect(onHost(A, 'virsh -q domstate tiny1').trim()).toBe('running');
    expect(guestStatus(tinyIp)).toMatch(/verify_errors=0\b/);
    expect(onHost(A, 'ls /var/lib/libvirt/qemu/save')).not.toMatch(/ferry-upgrade/);
  }, 180_000);
});
