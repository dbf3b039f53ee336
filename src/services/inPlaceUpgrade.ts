/**
 * The in-place QEMU upgrade of one domain (core/inPlace): checked first, then run on the host by its own detached
 * script, which starts the shadow daemon, runs both hops and removes the shadow. Ferry follows each hop as a
 * migration (one panel and one history entry for both, under one operationId) and reads the run's log for the
 * outcome, re-attaching after a dropped link. Whatever dies, the log says where the domain is.
 */
import type { Domain } from '../core/domain';
import type { HopAttempt, InPlaceCheck, InPlaceLog, InPlacePostcopy } from '../core/inPlace';
import {
  checkInPlace,
  domainClashes,
  hopLog,
  INPLACE_MAX_DOWNTIME_MS,
  INPLACE_RUN_DIR,
  parseInPlaceLog,
  parseInPlaceProbe,
  runLog,
  shadowUri,
} from '../core/inPlace';
import { parseVirshVersion } from '../core/hostFacts';
import type { MigrationOptions } from '../core/migration/job';
import { PROFILES, UNLIMITED_BANDWIDTH_MIBPS } from '../core/migration/job';
import type { MigrationRecord } from '../core/migration/record';
import { next, plannedRecord } from '../core/migration/record';
import { virsh } from '../core/virsh';
import { inPlaceProbeArgv, launchInPlaceArgv, removeRunArgv } from '../remote/inPlace';
import type { RemoteHost } from '../remote/remoteHost';
import type { Logger } from '../transport/logger';
import { virshErrorText } from './libvirtError';

/** Whether this running domain can be upgraded in place on its host, and why not. */
export async function checkDomainInPlace(host: RemoteHost, uri: string, domain: Domain): Promise<InPlaceCheck> {
  const [probe, inactive, version] = await Promise.all([
    host.exec(inPlaceProbeArgv(domain.uuid), { timeoutMs: 30_000 }),
    host.exec(virsh(uri, 'dumpxml', '--inactive', domain.uuid), { timeoutMs: 30_000 }),
    host.exec(virsh(uri, 'version'), { timeoutMs: 30_000 }),
  ]);
  if (inactive.code !== 0)
    return { ok: false, refusals: [`its definition: ${virshErrorText(inactive.stderr, inactive.code)}`], notes: [] };
  return checkInPlace({
    uri,
    libvirtVersion: version.code === 0 ? parseVirshVersion(version.stdout).libvirt : undefined,
    host: parseInPlaceProbe(probe.stdout),
    clashes: domainClashes(inactive.stdout),
    domainMemoryKiB: domain.memoryKiB ?? 0,
  });
}

export interface InPlaceDeps {
  host: RemoteHost;
  follow(record: MigrationRecord): Promise<MigrationRecord>;
  log: Pick<Logger, 'info' | 'warn'>;
}

export interface InPlaceResult {
  /** the run ended with the domain under the system daemon (0), or where and why not */
  log: InPlaceLog;
  hops: MigrationRecord[];
  runDir?: string;
  /** the link dropped at some point: Ferry read the outcome once it was back */
  interrupted: boolean;
  /** what could not be started or read */
  failure?: string;
}

/** how often the run's log is read between hops (a hop's own progress comes from its job reader) */
const LOG_POLL_MS = 200;
/** a run that has not ended in this long is reported as lost track of */
const RUN_TIMEOUT_MS = 20 * 60_000;

/** the options both hops carry, as recorded (the host-side run passes them to virsh) */
export const inPlaceOptions = (postcopy: InPlacePostcopy): MigrationOptions => ({
  ...PROFILES.safe.options,
  maxDowntimeMs: INPLACE_MAX_DOWNTIME_MS,
  postcopy: postcopy === 'always' ? 'afterPrecopy' : postcopy === 'auto' ? 'manual' : 'off',
});

/**
 * Run the in-place upgrade of `domain` on `alias` and follow it to its end. `onHop` is told of each hop as it starts
 * (to open its panel and report progress).
 */
export async function runInPlace(
  deps: InPlaceDeps,
  alias: string,
  domain: Domain,
  postcopy: InPlacePostcopy,
  onHop: (hop: 1 | 2, record: MigrationRecord, done: Promise<MigrationRecord>) => void,
  /** a cap for each hop, MiB/s (none by default: a cap once set stays with the domain, so "none" is said) */
  hopBandwidthMiBps?: number,
): Promise<InPlaceResult> {
  if (hopBandwidthMiBps !== undefined && !(Number.isInteger(hopBandwidthMiBps) && hopBandwidthMiBps > 0))
    throw new Error(`a hop's bandwidth must be a whole number of MiB/s above 0 (got ${hopBandwidthMiBps})`);
  const { host } = deps;
  // a bandwidth cap set once stays with the domain: both hops say "none"
  const bandwidth = hopBandwidthMiBps !== undefined ? String(hopBandwidthMiBps) : UNLIMITED_BANDWIDTH_MIBPS;
  const launched = await host.exec(launchInPlaceArgv(domain.uuid, postcopy, ['--bandwidth', bandwidth]), {
    logLevel: 'info',
  });
  const runDir = launched.stdout.trim();
  const empty = parseInPlaceLog('');
  if (launched.code !== 0 || !INPLACE_RUN_DIR.test(runDir))
    return {
      log: empty,
      hops: [],
      interrupted: false,
      failure: `the run could not start (${launched.stderr.trim() || runDir || `exit ${launched.code}`})`,
    };
  deps.log.info(`in-place upgrade of ${domain.name} on ${alias}: run ${runDir}`);
  const operationId = `upgrade-${domain.uuid}-${Date.now()}`;
  const options = inPlaceOptions(postcopy);
  const hops: MigrationRecord[] = [];
  let interrupted = false;
  const read = async (): Promise<InPlaceLog | undefined> => {
    if (host.state.kind !== 'connected') {
      interrupted = true;
      return undefined;
    }
    try {
      const r = await host.exec(['cat', '--', runLog(runDir)], { timeoutMs: 10_000 });
      return r.code === 0 ? parseInPlaceLog(r.stdout) : undefined;
    } catch {
      interrupted = true;
      return undefined;
    }
  };
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  /** the log once it has come to `until` (a hop started, or the run ended) */
  const waitFor = async (until: (log: InPlaceLog) => boolean): Promise<InPlaceLog | undefined> => {
    while (Date.now() < deadline) {
      const log = await read();
      if (log && (until(log) || log.exit !== undefined)) return log;
      await new Promise((resolve) => setTimeout(resolve, LOG_POLL_MS));
    }
    return undefined;
  };
  const follow = async (attempt: HopAttempt, daemon: InPlaceLog['daemon']) => {
    const shadow = shadowUri(runDir, daemon ?? 'libvirtd');
    const again = attempt.k > attempt.hop ? ', again' : '';
    const planned = plannedRecord({
      id: `${domain.uuid}-${Date.now()}`,
      domainUuid: domain.uuid,
      domainName: domain.name,
      source: alias,
      target: alias,
      options,
      startedAt: Date.now(),
      logPath: hopLog(runDir, attempt.k),
      operationId,
      operationStep: `upgrading QEMU in place, hop ${attempt.hop} of 2${again}`,
      ...(attempt.hop === 1 ? { targetUri: shadow } : { sourceUri: shadow }),
    });
    const record = next(planned, { kind: 'launched' });
    const done = deps.follow(record);
    onHop(attempt.hop, record, done);
    // a run that died mid-hop never writes its hop's end: the whole run's deadline holds for each hop too
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
    });
    const hop = await Promise.race([done, late]).finally(() => clearTimeout(timer));
    if (hop) hops.push(hop);
    return !!hop;
  };
  // every attempt at a hop is followed, in order, until the run has ended and none is left
  let log: InPlaceLog | undefined;
  for (let k = 1; (log = await waitFor((l) => l.attempts.length >= k)); k++) {
    const attempt = log.attempts.find((a) => a.k === k);
    if (!attempt || !(await follow(attempt, log.daemon))) break;
  }
  log = await waitFor(() => false);
  if (!log || log.exit === undefined)
    return { log: log ?? empty, hops, runDir, interrupted, failure: 'the run did not end in time' };
  // the folder holds only the logs by now; a run that left the domain under the shadow keeps it, for what to run
  if (log.exit !== 12) await host.exec(removeRunArgv(runDir)).catch(() => undefined);
  return { log, hops, runDir, interrupted };
}

/** The way back by hand, for a run that left the domain under the shadow daemon. */
export function wayBackCommands(runDir: string, log: InPlaceLog, uuid: string): string {
  const sock = log.daemon === 'virtqemud' ? 'virtqemud-sock' : 'libvirt-sock';
  // as the run's own way back: local images (--unsafe, one page cache) and the domain's own definition (its labels)
  return (
    `virsh -c '${shadowUri(runDir, log.daemon ?? 'libvirtd')}' migrate --live --p2p --unsafe ${uuid} ` +
    `'qemu+unix:///system?socket=${runDir}/system/${sock}' --migrateuri unix://${runDir}/mig/back ` +
    `--xml ${runDir}/domain.xml; then kill ${log.shadowPid ?? '<the second daemon>'} and rm -rf ${runDir}`
  );
}
