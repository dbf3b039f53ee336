/**
 * Moving running domains onto a newly installed QEMU without stopping them. First choice, in place: a same-host live
 * migration into a transient second libvirt daemon and back (services/inPlaceUpgrade). Else a round trip: live-migrate
 * to a peer host that can take the domain, then back, one operation (one operationId for both legs). Else save and
 * restore on the host. The new QEMU process runs the installed binary; the probe confirms it. If the way back fails
 * the domain stays running where it is, and the result says where and what to run.
 */
import type { Domain } from '../core/domain';
import type { MigrationOptions } from '../core/migration/job';
import { DEFAULT_MAX_DOWNTIME_MS } from '../core/migration/monitor';
import type { MigrationRecord } from '../core/migration/record';
import { compareVersions, qemuVersionOf } from '../core/hostFacts';
import { describeStale } from '../core/qemuBinary';
import {
  expectedSavePauseMs,
  parseSaveDirProbe,
  parseSaveRestore,
  SAVE_DIR,
  SAVE_RUN_DIR,
  saveFile,
  saveLog,
} from '../core/saveRestore';
import type { SaveRestoreLog } from '../core/saveRestore';
import type { SaveDirFacts } from '../core/saveRestore';
import { launchSaveRestoreArgv, saveDirProbeArgv } from '../remote/saveRestore';
import type { HostConnection } from '../transport/hostConnection';
import type { HostRegistry } from './hostRegistry';
import type { MigrationDecisions, MigrationPlanDeps } from './migration/plan';
import { planMigration } from './migration/plan';
import type { QemuBinaries } from './qemuBinaries';
import type { InPlaceCheck } from '../core/inPlace';
import { INPLACE_MAX_DOWNTIME_MS } from '../core/inPlace';
import type { InPlacePostcopy } from '../core/inPlace';
import type { InPlaceDeps } from './inPlaceUpgrade';
import { checkDomainInPlace, runInPlace, wayBackCommands } from './inPlaceUpgrade';

export interface UpgradeRow {
  alias: string;
  domain: Domain;
  /** what it runs now ("runs a replaced QEMU 10.0.2 binary"); undefined when it already runs the installed one */
  stale?: string;
  method: 'inPlace' | 'roundTrip' | 'saveRestore' | 'none';
  peer?: string;
  why: string;
  expectedPause: string;
  /** save and restore: the pause estimated from memory and the save directory's write speed */
  expectedPauseMs?: number;
}

/**
 * One row per domain: stale or not (read now), and for a stale one the peer of its round trip: the first connected
 * host whose preflight passes, with the memory of every domain already planned to it counted against it.
 */
export async function planUpgrade(
  registry: HostRegistry,
  qemu: QemuBinaries,
  domains: readonly { alias: string; domain: Domain }[],
  preflight: MigrationPlanDeps['preflight'],
  options: MigrationOptions,
  inPlaceOn: { uri: string } | undefined,
): Promise<UpgradeRow[]> {
  await Promise.all([...new Set(domains.map((d) => d.alias))].map((alias) => qemu.probe(alias)));
  const plannedKiB = new Map<string, number>();
  const saveDirs = new Map<string, Promise<SaveDirFacts>>();
  const saveDirOf = (alias: string) => {
    let facts = saveDirs.get(alias);
    if (!facts) saveDirs.set(alias, (facts = readSaveDir(registry, alias)));
    return facts;
  };
  const rows: UpgradeRow[] = [];
  const pause = `two switchovers of a live migration, each at most ${options.maxDowntimeMs ?? DEFAULT_MAX_DOWNTIME_MS} ms (the max downtime)`;
  for (const { alias, domain } of domains) {
    const state = qemu.state(alias, domain.uuid);
    const stale = state && describeStale(state);
    if (!stale) {
      rows.push({
        alias,
        domain,
        method: 'none',
        why: state ? 'already runs the installed QEMU' : `not running on ${alias}`,
        expectedPause: 'none',
      });
      continue;
    }
    const host = registry.get(alias);
    const inPlace = !inPlaceOn
      ? { ok: false, refusals: ['turned off (ferry.qemu.inPlace)'], notes: [] }
      : host
        ? await checkDomainInPlace(host.connection, inPlaceOn.uri, domain).catch((e: Error): InPlaceCheck => ({
            ok: false,
            refusals: [e.message],
            notes: [],
          }))
        : undefined;
    if (inPlace?.ok) {
      rows.push({
        alias,
        domain,
        stale,
        method: 'inPlace',
        why: [
          `${stale}; ${alias} qualifies for in place: a second libvirt daemon on it takes the domain and gives it back, each time onto a new QEMU process, with no data on the network`,
          ...inPlace.notes,
        ].join('; '),
        expectedPause: `two switchovers on the same host, each at most ${INPLACE_MAX_DOWNTIME_MS} ms (the max downtime); postcopy bounds a guest that writes memory faster than a hop converges`,
      });
      continue;
    }
    const notInPlace = `not in place (${inPlace?.refusals.join('; ') ?? `${alias} is not a configured host`})`;
    const refusals: string[] = [];
    let peer: string | undefined;
    for (const candidate of registry.hosts) {
      if (candidate.alias === alias || candidate.connection.state.kind !== 'connected') continue;
      const result = await preflight({ source: alias, target: candidate.alias, domain, options });
      const failed = result.checks.filter((c) => c.status === 'fail');
      // a peer with an older QEMU than the one the domain runs cannot be trusted to take it (machine types, devices)
      const peerQemu = result.targetVersions && qemuVersionOf(result.targetVersions);
      if (peerQemu && state.runningVersion && compareVersions(peerQemu, state.runningVersion) < 0) {
        failed.push({
          id: 'older-qemu',
          title: 'QEMU not older than the domain runs',
          status: 'fail',
          evidence: `${candidate.alias} has QEMU ${peerQemu}, ${domain.name} runs ${state.runningVersion}`,
        });
      }
      const free = result.checks.find((c) => c.id === 'memory');
      const needKiB = (plannedKiB.get(candidate.alias) ?? 0) + (domain.memoryKiB ?? 0);
      const available = result.targetAvailableKiB;
      if (!failed.length && (available === undefined || available >= needKiB)) {
        peer = candidate.alias;
        plannedKiB.set(candidate.alias, needKiB);
        break;
      }
      refusals.push(
        `${candidate.alias}: ${failed.length ? failed.map((c) => `${c.title} (${c.evidence})`).join('; ') : `not enough memory for every domain planned to it (${free?.evidence ?? '?'})`}`,
      );
    }
    if (peer) {
      rows.push({
        alias,
        domain,
        stale,
        method: 'roundTrip',
        peer,
        why: `${stale}; ${notInPlace}; ${peer} can take it (preflight passed)`,
        expectedPause: pause,
      });
      continue;
    }
    const noPeer = `${notInPlace}; no other connected host can take it${refusals.length ? ` (${refusals.join(' · ')})` : ''}`;
    rows.push(await saveRestoreRow(alias, domain, stale, noPeer, saveDirOf(alias), plannedKiB));
  }
  return rows;
}

async function readSaveDir(registry: HostRegistry, alias: string): Promise<SaveDirFacts> {
  const host = registry.get(alias);
  if (!host) throw new Error(`${alias} is not a configured host`);
  const r = await host.connection.exec(saveDirProbeArgv(), { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`${alias}: ${SAVE_DIR}: ${r.stderr.trim() || `exit ${r.code}`}`);
  return parseSaveDirProbe(r.stdout);
}

const MiB = 1048576;

/** The same-host way: only with room for the memory of every domain saved there at once (10 % to spare). */
async function saveRestoreRow(
  alias: string,
  domain: Domain,
  stale: string,
  noPeer: string,
  saveDir: Promise<SaveDirFacts>,
  plannedKiB: Map<string, number>,
): Promise<UpgradeRow> {
  const memoryKiB = domain.memoryKiB ?? 0;
  let facts: SaveDirFacts;
  try {
    facts = await saveDir;
  } catch (e) {
    return {
      alias,
      domain,
      stale,
      method: 'none',
      why: `${stale}; ${noPeer}; save and restore cannot be planned: ${(e as Error).message}`,
      expectedPause: 'none (not moved)',
    };
  }
  const key = `save:${alias}`;
  const needKiB = Math.round(memoryKiB * 1.1) + (plannedKiB.get(key) ?? 0);
  if (facts.availableKiB < needKiB) {
    const free = `${Math.round(facts.availableKiB / 1024)} MiB free in ${SAVE_DIR}, ${Math.round(needKiB / 1024)} MiB needed`;
    return {
      alias,
      domain,
      stale,
      method: 'none',
      why: `${stale}; ${noPeer}; not enough space to save it on ${alias} (${free})`,
      expectedPause: 'none (not moved)',
    };
  }
  plannedKiB.set(key, needKiB);
  const ms = expectedSavePauseMs(memoryKiB, facts);
  return {
    alias,
    domain,
    stale,
    method: 'saveRestore',
    why: `${stale}; ${noPeer}: saved to ${SAVE_DIR} and restored on ${alias} onto the installed QEMU`,
    // a floor: QEMU may write its state slower than the disk takes it (the lab's TCG guests: about 4× slower)
    expectedPause:
      `at least ~${(ms / 1000).toFixed(1)} s, the guest paused for the whole save and restore ` +
      `(${Math.round(memoryKiB / 1024)} MiB at the directory's measured ${Math.round(facts.writeBytesPerSecond / MiB)} MiB/s)`,
    expectedPauseMs: ms,
  };
}

/** how often the run's log is read while it saves and restores */
const SAVE_POLL_MS = 500;

/**
 * Save the domain and restore it on the same host: the restored QEMU process runs the installed binary. The two run
 * detached on the host, so a link that drops between them does not leave the domain off: Ferry reads their log,
 * re-attaches after a reconnect, and reports what happened. The pause is measured on the host. A save that fails
 * leaves the domain running; a restore that fails leaves the save file, and the message says how to restore it.
 */
export async function saveAndRestore(
  host: HostConnection,
  uri: string,
  qemu: QemuBinaries,
  row: UpgradeRow,
): Promise<UpgradeOutcome> {
  if (row.method !== 'saveRestore') throw new Error(`${row.domain.name}: ${row.why}`);
  const name = row.domain.name;
  const uuid = row.domain.uuid;
  const launched = await host.exec(launchSaveRestoreArgv(uri, uuid), { logLevel: 'info' });
  const runDir = launched.stdout.trim();
  if (launched.code !== 0 || !SAVE_RUN_DIR.test(runDir)) {
    return {
      ok: false,
      where: row.alias,
      legs: [],
      message: `${name} was not saved and runs as before on ${row.alias}: the save could not start (${launched.stderr.trim() || runDir || `exit ${launched.code}`}).`,
    };
  }
  const file = saveFile(runDir, uuid);
  const { log, interrupted } = await followSaveRestore(host, runDir, 120_000 + 4 * (row.expectedPauseMs ?? 0));
  const reattached = interrupted
    ? ` Ferry's link to ${row.alias} dropped meanwhile; the host went on and Ferry read the outcome once it was back.`
    : '';
  if (!log.done) {
    const phase =
      log.phase === 'restoring'
        ? 'it was being restored'
        : log.phase === 'saving'
          ? 'it was being saved'
          : 'it had not started';
    return {
      ok: false,
      where: row.alias,
      legs: [],
      message:
        `Ferry lost track of the save and restore of ${name} on ${row.alias} (${phase} when last read): its state is unknown. ` +
        `Check "virsh domstate ${uuid}" there; the run's log is ${saveLog(runDir)}; if the domain is shut off, "virsh restore ${file}" brings it back.`,
    };
  }
  if (log.exit === 3) {
    await host.exec(['rm', '-rf', '--', runDir]).catch(() => undefined);
    return {
      ok: false,
      where: row.alias,
      legs: [],
      message: `${name} was not saved and runs as before on ${row.alias}: ${log.text || 'virsh save failed'}.${reattached}`,
    };
  }
  if (log.exit !== 0 || log.saveMs === undefined || log.restoreMs === undefined) {
    const why = log.text || `exit ${log.exit}`;
    return {
      ok: false,
      where: row.alias,
      legs: [],
      message: `${name} was saved to ${file} on ${row.alias} but not restored: ${why}. Run "virsh restore ${file}" there; the file is kept.${reattached}`,
    };
  }
  await host.exec(['rm', '-rf', '--', runDir]).catch(() => undefined);
  const pauseMs = log.saveMs + log.restoreMs;
  const paused = `paused ${(pauseMs / 1000).toFixed(1)} s (save ${log.saveMs} ms, restore ${log.restoreMs} ms)`;
  const outcome = await confirmed(
    qemu,
    row,
    [],
    `saved and restored: ${paused}`,
    `was saved and restored on ${row.alias} (${paused})`,
  );
  return { ...outcome, message: `${outcome.message}${reattached}`, pauseMs };
}

/**
 * The run's log read until it ends or `timeoutMs` passes; a read the link breaks is retried once the host is
 * connected again (the connection reconnects by itself).
 */
async function followSaveRestore(
  host: HostConnection,
  runDir: string,
  timeoutMs: number,
): Promise<{ log: SaveRestoreLog; interrupted: boolean }> {
  const deadline = Date.now() + timeoutMs;
  let log: SaveRestoreLog = { done: false, phase: 'starting' };
  let interrupted = false;
  while (Date.now() < deadline) {
    if (host.state.kind === 'connected') {
      try {
        const r = await host.exec(['cat', '--', saveLog(runDir)], { timeoutMs: 10_000 });
        if (r.code === 0) log = parseSaveRestore(r.stdout);
        if (log.done) break;
      } catch {
        interrupted = true;
      }
    } else interrupted = true;
    await new Promise((resolve) => setTimeout(resolve, SAVE_POLL_MS));
  }
  return { log, interrupted };
}

/**
 * The domain back on its host: the probe, read again, says whether it now runs the installed binary. `how` is said
 * when it does ("round trip via hostB"), `done` when it does not ("is back on hostA").
 */
async function confirmed(
  qemu: QemuBinaries,
  row: UpgradeRow,
  legs: MigrationRecord[],
  how: string,
  done: string,
): Promise<UpgradeOutcome> {
  await qemu.probeAfterListing(row.alias);
  const state = qemu.state(row.alias, row.domain.uuid);
  const still = state && describeStale(state);
  const name = row.domain.name;
  if (!state || still)
    return {
      ok: false,
      where: row.alias,
      legs,
      message: `${name} ${done} but ${still ?? 'its QEMU process was not found'}.`,
    };
  return {
    ok: true,
    where: row.alias,
    legs,
    message: `${name} now runs the installed QEMU${state.runningVersion ? ` ${state.runningVersion}` : ''} on ${row.alias} (${how}).`,
  };
}

export interface UpgradeOutcome {
  ok: boolean;
  /** where the domain runs now */
  where: string;
  legs: MigrationRecord[];
  message: string;
  /** save and restore: the guest's pause as measured on the host */
  pauseMs?: number;
  /** in place: the whole operation's time on the host, second daemon started and removed included */
  totalMs?: number;
}

/** Both legs of one row's round trip, under one operationId; then the probe says whether it runs the new binary. */
export async function roundTrip(
  deps: MigrationPlanDeps,
  qemu: QemuBinaries,
  row: UpgradeRow,
  profile: string,
  options: MigrationOptions,
  decisions: MigrationDecisions,
  onLeg: (leg: 1 | 2, record: MigrationRecord, done: Promise<MigrationRecord>) => void,
): Promise<UpgradeOutcome> {
  if (row.method !== 'roundTrip' || !row.peer) throw new Error(`${row.domain.name}: ${row.why}`);
  const operationId = `upgrade-${row.domain.uuid}-${Date.now()}`;
  const legs: MigrationRecord[] = [];
  const leg = async (n: 1 | 2, source: string, target: string) => {
    const operationStep = `upgrading QEMU, leg ${n} of 2`;
    const started = await planMigration(
      deps,
      { source, target, domain: row.domain, profile, options, unattended: true, operationId, operationStep },
      decisions,
    );
    onLeg(n, started.record, started.done);
    const done = await started.done;
    legs.push(done);
    return done;
  };
  const name = row.domain.name;
  const there = await leg(1, row.alias, row.peer);
  if (there.phase !== 'completed') {
    return {
      ok: false,
      where: row.alias,
      legs,
      message: `${name} stayed on ${row.alias}: the move to ${row.peer} ${there.phase}${there.error ? ` (${there.error})` : ''}. It runs as before.`,
    };
  }
  const stranded = `${name} is running on ${row.peer}: the way back to ${row.alias}`;
  const retry = `Run the upgrade again, or migrate it back, once ${row.alias} can take it.`;
  let back: MigrationRecord;
  try {
    back = await leg(2, row.peer, row.alias);
  } catch (e) {
    return {
      ok: false,
      where: row.peer,
      legs,
      message: `${stranded} did not start (${(e as Error).message}). ${retry}`,
    };
  }
  if (back.phase !== 'completed')
    return {
      ok: false,
      where: row.peer,
      legs,
      message: `${stranded} ${back.phase}${back.error ? ` (${back.error})` : ''}. ${retry}`,
    };
  return confirmed(qemu, row, legs, `round trip via ${row.peer}`, `is back on ${row.alias}`);
}

/**
 * In place: both hops on the domain's own host, run there by one detached script (services/inPlaceUpgrade); then
 * the probe says whether it runs the new binary. The message gives each hop's pause (libvirt's downtime) and the total.
 */
export async function inPlace(
  deps: InPlaceDeps,
  qemu: QemuBinaries,
  row: UpgradeRow,
  postcopy: InPlacePostcopy,
  onHop: (hop: 1 | 2, record: MigrationRecord, done: Promise<MigrationRecord>) => void,
  hopBandwidthMiBps?: number,
): Promise<UpgradeOutcome> {
  if (row.method !== 'inPlace') throw new Error(`${row.domain.name}: ${row.why}`);
  const name = row.domain.name;
  const { log, hops, runDir, interrupted, failure } = await runInPlace(
    deps,
    row.alias,
    row.domain,
    postcopy,
    onHop,
    hopBandwidthMiBps,
  );
  const reattached = interrupted
    ? ` Ferry's link to ${row.alias} dropped meanwhile; the host went on and Ferry read the outcome once it was back.`
    : '';
  const errors = [...hops.map((h) => h.error).filter((e): e is string => !!e), ...log.errors];
  const why = errors.length ? [...new Set(errors)].join('; ') : 'no error was logged';
  if (failure)
    return {
      ok: false,
      where: row.alias,
      legs: hops,
      message:
        `Ferry lost track of the in-place upgrade of ${name} on ${row.alias}: ${failure}. Check "virsh domstate ${row.domain.uuid}" there` +
        `${runDir ? `; the run's log is ${runDir}/log` : ''}.${reattached}`,
    };
  if (log.exit === 10 || log.exit === 11)
    return {
      ok: false,
      where: row.alias,
      legs: hops,
      message:
        `${name} stayed under the system daemon on ${row.alias} and runs as before: ` +
        `${log.exit === 10 ? 'the second libvirt daemon did not start' : 'the move into the second daemon failed'} (${why}).${reattached}`,
    };
  if (log.exit !== 0 && log.shadowStopped)
    return {
      ok: false,
      where: row.alias,
      legs: hops,
      message:
        `${name} is running on ${row.alias} in a QEMU of Ferry's second libvirt daemon, which has stopped: the way back failed (${why}). ` +
        `Its state is kept in ${runDir}/run/qemu; a libvirt daemon started on that folder (as src/remote/scripts/inplace-shadow.sh does) takes the domain up again.${reattached}`,
    };
  if (log.exit !== 0)
    return {
      ok: false,
      where: row.alias,
      legs: hops,
      message:
        `${name} is running on ${row.alias} under Ferry's second libvirt daemon, not the system's: the way back failed (${why}). ` +
        `The second daemon is left running so that nothing is lost. To move it back: ${wayBackCommands(runDir ?? '', log, row.domain.uuid)}.${reattached}`,
    };
  const pauses = hops.filter((h) => h.phase === 'completed').map((h) => h.summary?.downtimeMs);
  const known = pauses.every((p) => p !== undefined) && pauses.length === 2;
  const paused = known
    ? `in place: hop 1 paused ${pauses[0]} ms, hop 2 ${pauses[1]} ms, ${pauses[0]! + pauses[1]!} ms in all`
    : 'in place';
  const postcopied = log.postcopySwitched.length ? `, postcopy in ${log.postcopySwitched.length} hop(s)` : '';
  const outcome = await confirmed(qemu, row, hops, `${paused}${postcopied}`, `was moved in place on ${row.alias}`);
  const totalMs = log.startedAt && log.endedAt ? log.endedAt - log.startedAt : undefined;
  return { ...outcome, message: `${outcome.message}${reattached}`, totalMs };
}
