/**
 * KubeVirt nodes against the lab's (lab/kubevirt.sh): virt-launcher pods with a session libvirt as uid 107 in their own
 * mount namespace, and migrations KubeVirt-style (target pod, unix <-> TCP proxies on both nodes). Ferry only reads.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPodUri, podUri } from '../../src/core/kubevirt';
import { lifecycleArgv } from '../../src/core/virsh';
import { HostRegistry } from '../../src/services/hostRegistry';
import type { PodState } from '../../src/services/kubevirtNode';
import type { MigrationRecord } from '../../src/core/migration/record';
import { MigrationRunner } from '../../src/services/migration';
import { guestFilled, guestStatus, lab, labCtl, memoryLogger, memoryStore, onHost, waitFor } from './lab';

const [, B, C] = lab.hosts.map((h) => h.alias);
const NS = 'ferry-test';
const guestIp = (octet: number) => `${lab.guestNet}.${octet}`;
const log = memoryLogger();
const store = memoryStore();
let registry: HostRegistry;
let runner: MigrationRunner;

const podsOn = (alias: string) => registry.get(alias)!.kubevirt.pods;
const podOf = (alias: string, vm: string): PodState | undefined =>
  podsOn(alias).find((p) => p.pod.namespace === NS && p.pod.vm === vm);
const runningOn = (alias: string, vm: string) => podOf(alias, vm)?.domain?.state === 'running';
const guestAnswers = (octet: number) =>
  waitFor(
    'the guest answering',
    () => {
      try {
        return guestStatus(guestIp(octet)).includes('verify_errors=0');
      } catch {
        return false; // still booting
      }
    },
    30_000,
  );

/** `npm run lab -- kubevirt migrate …` in the background: what KubeVirt does when a migration is asked for */
function kubevirtMigrate(vm: string, from: string, to: string, ...options: string[]): Promise<string> {
  const script = join(__dirname, '..', '..', 'lab', 'lab.sh');
  const args = [script, 'kubevirt', 'migrate', NS, vm, from.slice(-1), to.slice(-1), ...options];
  return new Promise((resolve, reject) =>
    execFile('bash', args, { encoding: 'utf8' }, (e, out, err) =>
      e ? reject(new Error(err || e.message)) : resolve(out),
    ),
  );
}

beforeAll(async () => {
  labCtl('kubevirt', 'clear');
  registry = new HostRegistry(
    {
      connection: { connectTimeoutMs: 5000, keepaliveIntervalMs: 2000 },
      settings: { sshConfigPath: lab.sshConfig, libvirtUri: 'qemu:///system' },
    },
    log,
  );
  registry.setHosts([B, C]);
  await Promise.all([B, C].map((a) => registry.get(a)!.connection.connect(false)));
  await Promise.all([B, C].map((a) => registry.get(a)!.kubevirt.whenScanned()));
  runner = new MigrationRunner(registry, store, { libvirtUri: 'qemu:///system' }, log);
}, 60_000);

afterAll(() => {
  runner?.dispose();
  registry?.dispose();
  labCtl('kubevirt', 'clear');
});

describe('a KubeVirt node', () => {
  it('shows a pod that starts, with its VM, QEMU uid and capabilities, on its node only; and drops it when it goes', async () => {
    labCtl('kubevirt', 'pod', 'B', NS, 'appear', '--octet', '112');
    const state = await waitFor(
      'the new pod, its running VM and its QEMU on hostB',
      // the pod's libvirt may answer for the domain a scan before its QEMU is seen under its own name
      () => runningOn(B, 'appear') && podOf(B, 'appear')?.pod.qemu && podOf(B, 'appear'),
      20_000,
    );
    expect(state.domain).toMatchObject({ name: `${NS}_appear`, vcpus: 1, memoryKiB: 256 * 1024 });
    expect(state.pod.qemu).toMatchObject({ uid: 107, capEff: '0000000000000400' });
    expect(state.pod.daemon?.uid).toBe(107);
    // the host finds it by UUID (a later scan may have made a new object of the same domain)
    expect(registry.get(B)!.findDomain(state.domain!.uuid)?.name).toBe(`${NS}_appear`);
    // hostC sees the same kernel's processes in the lab, but the pod is not its own
    expect(podOf(C, 'appear')).toBeUndefined();
    // the system libvirt's domains are apart from it
    expect(registry.get(B)!.domains?.some((d) => d.name === `${NS}_appear`)).toBe(false);
    labCtl('kubevirt', 'delete', NS, 'appear');
    await waitFor('the pod gone from hostB', () => !podOf(B, 'appear'), 10_000);
  }, 60_000);

  it("reads a domain without a QEMU (no status file) from the pod's own libvirt", async () => {
    labCtl('kubevirt', 'pod', 'B', NS, 'defined', '--stopped');
    const state = await waitFor(
      'the pod with its shut-off domain',
      () => podOf(B, 'defined')?.domain && podOf(B, 'defined'),
    );
    expect(state.pod.status).toBeUndefined();
    expect(state.domain).toMatchObject({ name: `${NS}_defined`, state: 'shutoff', vcpus: 1 });
    labCtl('kubevirt', 'delete', NS, 'defined');
  }, 60_000);

  it("reads a pod's libvirt read-only (libvirt refuses an action), and no status file a pod made a link", async () => {
    labCtl('kubevirt', 'pod', 'B', NS, 'readonly', '--octet', '113');
    const state = await waitFor('the pod running', () => runningOn(B, 'readonly') && podOf(B, 'readonly'), 20_000);
    const uri = podUri(state.pod)!;
    const r = await registry.get(B)!.connection.exec(lifecycleArgv(uri, 'pause', state.domain!.uuid));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/read[- ]only/i);
    await guestAnswers(113);
    // a pod that makes its domain's status file a link to /dev/zero: not read (the scan would never end), the domain
    // read through the pod's libvirt instead, and the scan goes on
    const statusFile = `${state.pod.socket!.replace(/virtqemud-sock$/, '')}qemu/run/${NS}_readonly.xml`;
    onHost(B, `ln -sf /dev/zero ${statusFile}`);
    await waitFor('the pod without its status', () => podOf(B, 'readonly') && !podOf(B, 'readonly')!.pod.status);
    await waitFor('its domain read from its libvirt', () => podOf(B, 'readonly')?.domain?.state === 'running');
    labCtl('kubevirt', 'pod', 'B', NS, 'after', '--stopped');
    await waitFor('a pod made after it, seen: the scan goes on', () => podOf(B, 'after'), 20_000);
    labCtl('kubevirt', 'delete', NS, 'after');
    labCtl('kubevirt', 'delete', NS, 'readonly');
  }, 60_000);

  it("names DVP's restricted pods instead of failing on each: the socket takes only its launcher", async () => {
    labCtl('kubevirt', 'pod', 'C', NS, 'dvp', '--dvp');
    // its daemon is named virtqemud a moment after it starts (the stand-in renames itself): until then no scan knows it
    const state = await waitFor(
      'the DVP pod on hostC, restricted',
      () => podOf(C, 'dvp')?.pod.restricted && podOf(C, 'dvp'),
      20_000,
    );
    expect(state.pod.restricted).toBe(true);
    expect(state.pod.daemon?.uid).toBe(64535);
    // what Ferry does not try, the lab's socket does refuse: the connection closes at once
    const r = await registry.get(C)!.connection.exec(['virsh', '-q', '-r', '-c', podUri(state.pod)!, 'list']);
    expect(r.code).not.toBe(0);
    expect(state.domain).toBeUndefined();
    expect(state.error).toBeUndefined(); // not read, so no error per pod: the node's one message says why
    labCtl('kubevirt', 'delete', NS, 'dvp');
  }, 60_000);
});

describe("KubeVirt's migrations, followed from the source pod", () => {
  /** A pod on hostB, its guest filled, migrated to hostC by KubeVirt; `whileRunning` acts on the followed run. */
  async function followed(
    vm: string,
    octet: number,
    podOptions: string[],
    whileRunning: (record: MigrationRecord) => Promise<void> = async () => {},
  ) {
    labCtl('kubevirt', 'pod', 'B', NS, vm, '--octet', String(octet), ...podOptions);
    const source = await waitFor('the pod running on hostB', () => runningOn(B, vm) && podOf(B, vm), 30_000);
    await guestAnswers(octet);
    await guestFilled(guestIp(octet), 160, 'idle');
    const migration = kubevirtMigrate(vm, B, C, '--bandwidth', '40');
    const record = await waitFor(
      'Ferry following the migration',
      () => runner.findByDomain(source.domain!.uuid),
      30_000,
    );
    expect(record.discovered).toBe(true);
    expect(isPodUri(record.sourceUri!)).toBe(true);
    expect(record.source).toBe(B);
    await waitFor('a few samples', () => (runner.get(record.id)?.samples.length ?? 0) >= 10, 30_000);
    await whileRunning(record);
    const diagnosis = await runner.diagnose(record.id);
    // KubeVirt's own stop: the bandwidth cap lifted so that the migration ends within the test
    await migration;
    const done = await waitFor('the run in the history', () => store.history.find((h) => h.id === record.id), 60_000);
    return { record: done, diagnosis, source };
  }

  it('a non-root launcher: followed live from start to end, the missing CAP_IPC_LOCK named, the proxies shown', async () => {
    const { record, diagnosis } = await followed('rootless', 114, []);
    expect(record.phase).toBe('completed');
    expect(record.target).toBe(C);
    expect(record.samples.length).toBeGreaterThanOrEqual(10);
    const rate = record.samples.length / ((record.samples.at(-1)!.t - record.samples[0].t) / 1000);
    // read back to back from the pod's libvirt (bench/kubevirt.ts measures how often), not every 5 s as KubeVirt exports
    expect(rate).toBeGreaterThan(1);
    const ids = diagnosis.findings.map((f) => f.id);
    expect(ids).toContain('kubevirt-no-ipc-lock');
    expect(ids).toContain('kubevirt-path');
    expect(diagnosis.findings.find((f) => f.id === 'kubevirt-no-ipc-lock')!.evidence).toContain('CapEff 0x400');
    // the node's probe read the pod's QEMU (its threads: one stream), and the 40 MiB/s cap showed in the throughput
    expect(diagnosis.findings.find((f) => f.id === 'multifd')?.title).toBe(
      'one migration stream (no parallel connections)',
    );
    expect(ids).toContain('kubevirt-bandwidth-cap');
    expect(ids).not.toContain('no-probe');
    await waitFor('the VM running in its new pod on hostC', () => runningOn(C, 'rootless'), 20_000);
    expect(podOf(B, 'rootless')).toBeUndefined();
    expect(guestStatus(guestIp(114))).toContain('verify_errors=0');
    labCtl('kubevirt', 'delete', NS, 'rootless');
  }, 240_000);

  it('a launcher with CAP_IPC_LOCK: no capability finding; steering is refused, KubeVirt owning the VM', async () => {
    const { record, diagnosis } = await followed('ipclock', 115, ['--ipc-lock'], async (running) => {
      await expect(runner.setBandwidth(running.id, 1000)).rejects.toThrow(
        /KubeVirt owns ferry-test\/ipclock.*virtctl migrate/s,
      );
      await expect(runner.abort(running.id)).rejects.toThrow(/KubeVirt owns/);
    });
    expect(diagnosis.findings.map((f) => f.id)).not.toContain('kubevirt-no-ipc-lock');
    expect(record.phase).toBe('completed'); // the refused abort did not reach it
    labCtl('kubevirt', 'delete', NS, 'ipclock');
  }, 240_000);
});
