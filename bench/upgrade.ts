/**
 * QEMU upgrade benchmark: tiny1 (512 MiB, 400 MiB filled) moved onto a "new" QEMU on hostA (a copy of the emulator
 * bind-mounted over its path) by Ferry's round trip via hostB and by save and restore on hostA, idle and then
 * dirtying 50 MiB/s, in one run. Round-trip pause: the guest's downtime in each leg as libvirt measured it
 * (downtime in the completed job), summed; total: the first leg's start to the second's end. Save/restore pause: the
 * save and the restore as timed on the host (the guest is paused throughout). libvirt does neither cpr-transfer nor
 * a same-host migration, so those two same-host references are not measured here: they print n/a. Last line:
 *   upgrade: roundtrip_pause_ms=<n> saverestore_pause_ms=<n> cpr_transfer_pause_ms=n/a local_postcopy_pause_ms=n/a roundtrip_total_ms=<n>
 */
import { execFileSync } from 'node:child_process';
import { PROFILES } from '../src/core/migration/job';
import { livePlanDeps, MigrationRunner } from '../src/services/migration';
import type { MigrationDecisions } from '../src/services/migration';
import { QemuBinaries } from '../src/services/qemuBinaries';
import { planUpgrade, roundTrip, saveAndRestore } from '../src/services/qemuUpgrade';
import { HostRegistry } from '../src/services/hostRegistry';
import { silentLogger } from '../src/transport/logger';
import { lab, labRegistry, memoryStore, onHost, runScript, tiny1, waitFor } from '../test/integration/lab';

const URI = 'qemu:///system';
const [A] = lab.hosts.map((h) => h.alias);
const guest = (path: string) => execFileSync('ip', ['netns', 'exec', lab.clientNetns, 'timeout', '5', 'busybox', 'wget', '-qO-', `http://${lab.guests.tiny1.ip}${path}`], { encoding: 'utf8' });
const decisions: MigrationDecisions = { duringPreflight: (w) => w(), preflightFailed: () => undefined, acceptWarnings: async () => true, addresses: async () => undefined, rememberOptions: async () => undefined };
const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);

async function main() {
  tiny1.ensureOnA();
  const registry = await labRegistry(lab.hosts.slice(0, 2).map((h) => h.alias));
  const runner = new MigrationRunner(registry, memoryStore(), () => URI, silentLogger);
  const qemu = new QemuBinaries(registry, silentLogger);
  const alone = new HostRegistry({ connection: { connectTimeoutMs: 10_000, keepaliveIntervalMs: 5000 }, sshConfigPath: () => lab.sshConfig, libvirtUri: () => URI }, silentLogger);
  alone.setHosts([A]);
  const aloneQemu = new QemuBinaries(alone, silentLogger);
  const deps = livePlanDeps(registry, runner, URI, 200, () => undefined);
  const tinyOn = (r: HostRegistry) => r.get(A)!.domains?.find((d) => d.name === 'tiny1' && d.state === 'running');
  await qemu.probe(A);
  const emulator = qemu.state(A, tinyOn(registry)!.uuid)!.emulator;
  const copy = `${lab.lab}/hosts/${A}/qemu-upgraded`;
  /** a new file at the emulator's path: tiny1's QEMU is stale */
  const upgrade = () => onHost(A, `while umount -l '${emulator}' 2>/dev/null; do :; done; rm -f '${copy}'; cp -p '${emulator}' '${copy}' && mount --bind '${copy}' '${emulator}'`);
  const results: Record<string, { roundtripPause: number; roundtripTotal: number; saveRestorePause: number }> = {};
  try {
    for (const [name, rate] of [['idle', 'idle'], ['dirtying', '50']] as const) {
      guest(`/cgi-bin/dirty?mb=400&rate=${rate}`);
      await waitFor('the guest filled', () => guest('/cgi-bin/status').includes(' filled=400 '), 60_000);
      upgrade();
      const [row] = await planUpgrade(registry, qemu, [{ alias: A, domain: tinyOn(registry)! }], deps.preflight, PROFILES.safe.options);
      const trip = await roundTrip(deps, qemu, row, 'safe', PROFILES.safe.options, decisions, () => undefined);
      if (!trip.ok) throw new Error(trip.message);
      const pause = trip.legs.reduce((sum, l) => sum + (l.summary?.downtimeMs ?? NaN), 0);
      const total = trip.legs[1].finishedAt! - trip.legs[0].startedAt;
      console.log(`upgrade ${name}: round trip ${trip.legs.map((l) => `${l.source}→${l.target} downtime ${l.summary?.downtimeMs} ms`).join(', ')}; total ${total} ms`);
      upgrade();
      await waitFor('hostA listed alone', () => tinyOn(alone), 30_000);
      const [saveRow] = await planUpgrade(alone, aloneQemu, [{ alias: A, domain: tinyOn(alone)! }], deps.preflight, PROFILES.safe.options);
      const saved = await saveAndRestore(alone.get(A)!.connection, URI, aloneQemu, saveRow);
      if (!saved.ok) throw new Error(saved.message);
      console.log(`upgrade ${name}: ${saved.message} (planned ${saveRow.expectedPause})`);
      results[name] = { roundtripPause: pause, roundtripTotal: total, saveRestorePause: saved.pauseMs! };
    }
  } finally {
    onHost(A, `while umount -l '${emulator}' 2>/dev/null; do :; done; rm -f '${copy}'`);
    guest('/cgi-bin/dirty?mb=1&rate=idle');
    aloneQemu.dispose();
    alone.dispose();
    qemu.dispose();
    runner.dispose();
    registry.dispose();
  }
  const all = Object.values(results);
  for (const [name, r] of Object.entries(results)) console.log(`upgrade ${name}: roundtrip_pause_ms=${r.roundtripPause} saverestore_pause_ms=${r.saveRestorePause} roundtrip_total_ms=${r.roundtripTotal}`);
  console.log('upgrade: cpr-transfer and same-host postcopy are not measured: libvirt drives neither, and this bench does not run bare QEMU');
  console.log(`upgrade: roundtrip_pause_ms=${mean(all.map((r) => r.roundtripPause))} saverestore_pause_ms=${mean(all.map((r) => r.saveRestorePause))} cpr_transfer_pause_ms=n/a local_postcopy_pause_ms=n/a roundtrip_total_ms=${mean(all.map((r) => r.roundtripTotal))}`);
}

runScript(main);
