/**
 * QEMU upgrade benchmark, idle and then dirtying 50 MiB/s, in one run, each guest 512 MiB with 400 MiB filled:
 * - Ferry's methods on tiny1 (libvirt), moved onto a "new" QEMU on hostA (a copy of the emulator bind-mounted
 *   over its path): in place (a second daemon on hostA, two hops; with postcopy as set by default, and with
 *   postcopy after the first pass), the round trip via hostB, and save and restore on hostA;
 * - the two same-host live updates libvirt cannot drive, on a bare QEMU guest in hostA's namespaces
 *   (lab/tools/live-update.py): cpr-transfer, and postcopy to a new QEMU process from the first byte.
 * Every pause is the guest-visible one: a UDP heartbeat to the guest's echo port every 5 ms from the client
 * namespace (lab/tools/heartbeat.py); a pause is a silence of the echoes minus one interval. The round trip's is
 * its two longest silences (one per leg), in place's likewise (one per hop). Detail lines give each tool's own
 * figure beside it: libvirt's downtime per leg or hop, the save and restore timed on the host, QEMU's downtime.
 * Total: the round trip's first leg's start to the second's end, as Ferry sees them; in place's, the whole
 * operation on the host (second daemon started and removed included). Per scenario, the goals' ratios: in place's pause and total over the
 * round trip's, in-place postcopy's pause over bare same-host postcopy's. Last line (means of idle and dirtying):
 *   upgrade: inplace_pause_ms=<n> inplace_postcopy_pause_ms=<n> inplace_total_ms=<n> roundtrip_pause_ms=<n>
 *   saverestore_pause_ms=<n> cpr_transfer_pause_ms=<n> local_postcopy_pause_ms=<n> roundtrip_total_ms=<n>
 */
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROFILES } from '../src/core/migration/job';
import { livePlanDeps, MigrationRunner } from '../src/services/migration';
import type { MigrationDecisions } from '../src/services/migration';
import { QemuBinaries } from '../src/services/qemuBinaries';
import type { InPlacePostcopy } from '../src/core/inPlace';
import { inPlace, planUpgrade, roundTrip, saveAndRestore } from '../src/services/qemuUpgrade';
import { HostRegistry } from '../src/services/hostRegistry';
import { silentLogger } from '../src/transport/logger';
import {
  guestPage,
  lab,
  labQemu,
  labRegistry,
  memoryStore,
  onHost,
  runScript,
  tiny1,
  waitFor,
} from '../test/integration/lab';

const URI = 'qemu:///system';
const [A] = lab.hosts.map((h) => h.alias);
const guest = (path: string) => guestPage(lab.guests.tiny1.ip, path);
const decisions: MigrationDecisions = {
  duringPreflight: (w) => w(),
  preflightFailed: () => undefined,
  acceptWarnings: async () => true,
  addresses: async () => undefined,
  rememberOptions: async () => undefined,
};
const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
const TOOLS = join(__dirname, '..', '..', 'lab', 'tools');
const BEAT_MS = 5;

interface Heartbeat {
  gaps_ms: number[];
  pause_ms: number;
  echoed: number;
  sent: number;
}

/** A heartbeat to tiny1 while `during` runs: the guest-visible pauses of its `legs` longest silences, summed. */
async function guestPause<T>(
  legs: number,
  during: () => Promise<T>,
): Promise<{ result: T; pauseMs: number; beat: Heartbeat }> {
  const child = spawn('ip', [
    'netns',
    'exec',
    lab.clientNetns,
    'python3',
    join(TOOLS, 'heartbeat.py'),
    lab.guests.tiny1.ip,
    '7000',
    String(BEAT_MS),
  ]);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  const echoes = () => [...output.matchAll(/^echoed (\d+)$/gm)].length;
  try {
    await waitFor('heartbeat echoes', () => echoes() > 0, 30_000);
    const result = await during();
    const seen = echoes();
    await waitFor('heartbeat echoes after the move', () => echoes() >= seen + 2, 30_000);
    const ended = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await ended;
    const beat = JSON.parse(output.trim().split('\n').pop()!) as Heartbeat;
    const longest = [...beat.gaps_ms].sort((a, b) => b - a).slice(0, legs);
    return { result, pauseMs: Math.round(longest.reduce((sum, g) => sum + g - BEAT_MS, 0)), beat };
  } finally {
    child.kill('SIGTERM');
  }
}

interface LiveUpdate {
  pause_ms: number;
  qemu_downtime_ms: number;
  total_ms: number;
  echoes: string;
}

/** The bare-QEMU same-host update (lab/tools/live-update.py), in hostA's namespaces. */
function liveUpdate(method: 'cpr-transfer' | 'local-postcopy', rate: string): LiveUpdate {
  const out = execFileSync('python3', [join(TOOLS, 'live-update.py'), method, '--dirty-rate', rate, '--lab', lab.lab], {
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop()!) as LiveUpdate;
}

async function main() {
  tiny1.ensureOnA();
  const registry = await labRegistry(lab.hosts.slice(0, 2).map((h) => h.alias));
  const runner = new MigrationRunner(registry, memoryStore(), { libvirtUri: URI }, silentLogger);
  const qemu = new QemuBinaries(registry, silentLogger);
  const alone = new HostRegistry(
    {
      connection: { connectTimeoutMs: 10_000, keepaliveIntervalMs: 5000 },
      settings: { sshConfigPath: lab.sshConfig, libvirtUri: URI },
    },
    silentLogger,
  );
  alone.setHosts([A]);
  const aloneQemu = new QemuBinaries(alone, silentLogger);
  const deps = livePlanDeps(registry, runner, URI, 200, silentLogger);
  const tinyOn = (r: HostRegistry) => r.get(A)!.domains?.find((d) => d.name === 'tiny1' && d.state === 'running');
  await qemu.probe(A);
  const emulator = labQemu(); // never a path read back from a QEMU that may run a removed copy
  const copy = `${lab.lab}/hosts/${A}/qemu-upgraded`;
  /** a new file at the emulator's path: tiny1's QEMU is stale */
  const upgrade = () =>
    onHost(
      A,
      `while umount -l '${emulator}' 2>/dev/null; do :; done; rm -f '${copy}'; cp -p '${emulator}' '${copy}' && mount --bind '${copy}' '${emulator}'`,
    );
  const results: Record<
    string,
    {
      inPlace: number;
      inPlacePostcopy: number;
      inPlaceTotal: number;
      roundtrip: number;
      total: number;
      saveRestore: number;
      cpr: number;
      postcopy: number;
    }
  > = {};
  /** in place on hostA, alone: the guest-visible pause of its two hops and the operation's whole time */
  const upgradeInPlace = async (name: string, postcopy: InPlacePostcopy) => {
    upgrade();
    await waitFor('hostA listed alone', () => tinyOn(alone), 30_000);
    await aloneQemu.probe(A);
    const [row] = await planUpgrade(
      alone,
      aloneQemu,
      [{ alias: A, domain: tinyOn(alone)! }],
      deps.preflight,
      PROFILES.safe.options,
      { uri: URI },
    );
    if (row.method !== 'inPlace') throw new Error(`hostA does not qualify for in place: ${row.why}`);
    const inPlaceDeps = { host: alone.get(A)!.connection, follow: deps.follow, log: silentLogger };
    const { result, pauseMs, beat } = await guestPause(2, () =>
      inPlace(inPlaceDeps, aloneQemu, row, postcopy, () => undefined),
    );
    if (!result.ok || result.totalMs === undefined) throw new Error(result.message);
    const totalMs = result.totalMs;
    console.log(
      `upgrade ${name}: in place (postcopy ${postcopy}) pause ${pauseMs} ms (silences ${beat.gaps_ms.join(', ')} ms); total ${totalMs} ms; ${result.message}`,
    );
    return { pauseMs, totalMs };
  };
  try {
    for (const [name, rate] of [
      ['idle', 'idle'],
      ['dirtying', '50'],
    ] as const) {
      guest(`/cgi-bin/dirty?mb=400&rate=${rate}`);
      await waitFor('the guest filled', () => guest('/cgi-bin/status').includes(' filled=400 '), 60_000);
      const here = await upgradeInPlace(name, 'auto');
      const herePostcopy = await upgradeInPlace(name, 'always');
      upgrade();
      await qemu.probe(A);
      const [row] = await planUpgrade(
        registry,
        qemu,
        [{ alias: A, domain: tinyOn(registry)! }],
        deps.preflight,
        PROFILES.safe.options,
        undefined,
      );
      const {
        result: trip,
        pauseMs: tripPause,
        beat,
      } = await guestPause(2, () =>
        roundTrip(deps, qemu, row, 'safe', PROFILES.safe.options, decisions, () => undefined),
      );
      if (!trip.ok) throw new Error(trip.message);
      const total = trip.legs[1].finishedAt! - trip.legs[0].startedAt;
      const legs = trip.legs
        .map((l) => `${l.source}→${l.target} libvirt downtime ${l.summary?.downtimeMs} ms`)
        .join(', ');
      console.log(
        `upgrade ${name}: round trip pause ${tripPause} ms (silences ${beat.gaps_ms.join(', ')} ms; ${legs}); total ${total} ms`,
      );
      upgrade();
      await waitFor('hostA listed alone', () => tinyOn(alone), 30_000);
      const [saveRow] = await planUpgrade(
        alone,
        aloneQemu,
        [{ alias: A, domain: tinyOn(alone)! }],
        deps.preflight,
        PROFILES.safe.options,
        undefined,
      );
      const { result: saved, pauseMs: savePause } = await guestPause(1, () =>
        saveAndRestore(alone.get(A)!.connection, URI, aloneQemu, saveRow),
      );
      if (!saved.ok) throw new Error(saved.message);
      console.log(
        `upgrade ${name}: save and restore pause ${savePause} ms; ${saved.message} (planned ${saveRow.expectedPause})`,
      );
      const cpr = liveUpdate('cpr-transfer', rate);
      const postcopy = liveUpdate('local-postcopy', rate);
      for (const [method, r] of [
        ['cpr-transfer', cpr],
        ['same-host postcopy', postcopy],
      ] as const) {
        console.log(
          `upgrade ${name}: bare QEMU ${method} pause ${r.pause_ms} ms (QEMU downtime ${r.qemu_downtime_ms} ms, migration ${r.total_ms} ms, echoes ${r.echoes})`,
        );
      }
      console.log(
        `upgrade ${name}: inplace_over_roundtrip_pause=${(here.pauseMs / tripPause).toFixed(2)} (goal <= 0.4) ` +
          `inplace_over_roundtrip_total=${(here.totalMs / total).toFixed(2)} (goal <= 0.6) ` +
          `inplace_postcopy_over_bare_postcopy=${(herePostcopy.pauseMs / postcopy.pause_ms).toFixed(2)} (goal <= 2)`,
      );
      results[name] = {
        inPlace: here.pauseMs,
        inPlacePostcopy: herePostcopy.pauseMs,
        inPlaceTotal: here.totalMs,
        roundtrip: tripPause,
        total,
        saveRestore: savePause,
        cpr: cpr.pause_ms,
        postcopy: postcopy.pause_ms,
      };
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
  const line = (rs: typeof all) =>
    `inplace_pause_ms=${mean(rs.map((r) => r.inPlace))} inplace_postcopy_pause_ms=${mean(rs.map((r) => r.inPlacePostcopy))} ` +
    `inplace_total_ms=${mean(rs.map((r) => r.inPlaceTotal))} ` +
    `roundtrip_pause_ms=${mean(rs.map((r) => r.roundtrip))} saverestore_pause_ms=${mean(rs.map((r) => r.saveRestore))} ` +
    `cpr_transfer_pause_ms=${mean(rs.map((r) => r.cpr))} local_postcopy_pause_ms=${mean(rs.map((r) => r.postcopy))} ` +
    `roundtrip_total_ms=${mean(rs.map((r) => r.total))}`;
  for (const [name, r] of Object.entries(results)) console.log(`upgrade ${name}: ${line([r])}`);
  console.log(`upgrade: ${line(all)}`);
}

runScript(main);
