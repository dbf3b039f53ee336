/**
 * Starting a migration on its source: the checks that need the hosts (both connected, no job running, a private
 * log), then a detached `virsh migrate --p2p` that survives the editor closing and the SSH link dropping.
 */
import { addressListProblem } from '../../core/conntrack';
import type { Versions } from '../../core/hostFacts';
import type { MigrationOptions } from '../../core/migration/job';
import {
  isActiveJob,
  JOB_OPERATION,
  getMaxDowntimeArgv,
  jobInfoArgv,
  migrateArgv,
  parseJobStats,
  parseMaxDowntime,
  setMaxDowntimeArgv,
  targetUri,
} from '../../core/migration/job';
import type { MigrationRecord } from '../../core/migration/record';
import { plannedRecord } from '../../core/migration/record';
import { launchMigrationArgv } from '../../remote/migration';
import type { HostConnection } from '../../transport/hostConnection';
import type { Logger } from '../../transport/logger';
import { netfilterBackend } from '../conntrack';
import type { HostRegistry } from '../hostRegistry';
import { LibvirtError, virshErrorText } from '../libvirtError';
import type { Gate, KeepConnections } from './gate';
import { GATE_FAILSAFE_S, prepareGate } from './gate';

export interface LaunchRequest {
  sourceAlias: string;
  targetAlias: string;
  domainUuid: string;
  domainName: string;
  options: MigrationOptions;
  versions?: { source?: Versions; target?: Versions };
  keepConnections?: KeepConnections;
  /** work made of several migrations (a hot-upgrade's two legs) shares one id */
  operationId?: string;
  operationStep?: string;
}

/** Launch it; the record returned is planned (the runner moves it on), with its gate when connections are kept. */
export async function launchMigration(
  deps: { registry: HostRegistry; uri: string; log: Logger },
  input: LaunchRequest,
): Promise<{ planned: MigrationRecord; gate?: Gate }> {
  const { registry, uri, log } = deps;
  const host = (alias: string) => {
    const inventory = registry.get(alias);
    if (!inventory) throw new Error(`${alias} is not a configured host`);
    return inventory;
  };
  const source = host(input.sourceAlias).connection;
  for (const c of [source, host(input.targetAlias).connection]) {
    if (c.state.kind !== 'connected')
      throw new Error(
        `${c.alias} is not connected${c.state.kind === 'failed' ? `: ${c.state.error.message}` : ''}; connect it first.`,
      );
  }
  // never a second migration of a domain that already has a job (another tool's migration, a save, ...)
  const job = await source.exec(jobInfoArgv(uri, input.domainUuid));
  if (job.code !== 0) throw new LibvirtError(input.sourceAlias, virshErrorText(job.stderr, job.code));
  const current = parseJobStats(job.stdout);
  if (isActiveJob(current)) {
    throw new Error(
      `${input.domainName} already has a running job on ${input.sourceAlias}${current.operation === JOB_OPERATION.migrationOut ? ' (an outgoing migration)' : ''}; Ferry will not start another.`,
    );
  }
  const targetHost = await registry.resolve(input.targetAlias);
  const startedAt = Date.now();
  const id = `${input.domainUuid}-${startedAt}`;
  // the log lives in a directory only root can enter, made fresh by mktemp: another local user can neither read it
  // nor put a file or link where it will be written
  const made = await source.exec(['mktemp', '-d', '/tmp/ferry-migrate.XXXXXXXXXX']);
  const logDir = made.stdout.trim();
  if (made.code !== 0 || !/^\/tmp\/ferry-migrate\.[A-Za-z0-9]{10}$/.test(logDir))
    throw new Error(`could not make a private directory on ${input.sourceAlias}: ${made.stderr.trim() || logDir}`);
  const logPath = `${logDir}/virsh.log`;
  const planned = plannedRecord({
    id,
    domainUuid: input.domainUuid,
    domainName: input.domainName,
    source: input.sourceAlias,
    target: input.targetAlias,
    options: input.options,
    startedAt,
    logPath,
    sourceVersions: input.versions?.source,
    targetVersions: input.versions?.target,
    operationId: input.operationId,
    operationStep: input.operationStep,
  });
  const keep = input.keepConnections;
  if (keep) {
    if (!keep.addresses.length) throw new Error('"Keep TCP connections" needs the VM\'s IP addresses.');
    const problem = addressListProblem(
      keep.addresses.join(' '),
      host(input.sourceAlias).domainsOtherThan(input.domainUuid),
    );
    if (problem) throw new Error(`"Keep TCP connections": ${problem}.`);
    await Promise.all([netfilterBackend.check(source), netfilterBackend.check(host(input.targetAlias).connection)]);
    planned.gate = { addresses: keep.addresses };
  }
  const destUri = targetUri(targetHost);
  const argv = migrateArgv(uri, input.domainUuid, destUri, input.options, !!keep);
  const gate = keep
    ? prepareGate({ source, target: host(input.targetAlias).connection }, uri, log, planned, logPath, keep, destUri)
    : undefined;
  // the run's max downtime, set last: QEMU keeps it for the domain's next migration, so a run that does not start
  // puts the one before back here, and one that fails or is aborted has it put back by the runner
  if (input.options.maxDowntimeMs !== undefined) {
    planned.maxDowntimeBeforeMs = await setMaxDowntime(source, uri, input, input.options.maxDowntimeMs);
  }
  // detached from the SSH session: closing VS Code or losing the link does not stop it. With a gate the domain waits
  // paused on the target; if Ferry is gone by then, the source resumes it after a while.
  const notStarted = async (e: Error) => {
    gate?.switchoverSeen(-1);
    if (planned.maxDowntimeBeforeMs !== undefined)
      await source
        .exec(setMaxDowntimeArgv(uri, input.domainUuid, planned.maxDowntimeBeforeMs), { logLevel: 'info' })
        .catch(() => undefined);
    throw e;
  };
  const launch = await source
    .exec(launchMigrationArgv(logPath, keep ? GATE_FAILSAFE_S : 0, destUri, input.domainUuid, argv), {
      logLevel: 'info',
    })
    .catch(notStarted);
  if (launch.code !== 0)
    await notStarted(new Error(`could not start virsh migrate on ${input.sourceAlias}: ${launch.stderr.trim()}`));
  log.info(
    `migration ${id}: ${input.domainName} ${input.sourceAlias} → ${input.targetAlias} started (log ${logPath} on ${input.sourceAlias})`,
  );
  return { planned, gate };
}

/** QEMU's own max downtime, ms: what a domain had if virsh cannot say (migrate-getmaxdowntime is libvirt ≥ 3.7) */
const QEMU_DEFAULT_MAX_DOWNTIME_MS = 300;

/** Sets the domain's max downtime; returns the one it had, when that differs (what to put back), else undefined. */
async function setMaxDowntime(
  source: HostConnection,
  uri: string,
  input: LaunchRequest,
  ms: number,
): Promise<number | undefined> {
  const before = await source.exec(getMaxDowntimeArgv(uri, input.domainUuid));
  const previous = (before.code === 0 && parseMaxDowntime(before.stdout)) || QEMU_DEFAULT_MAX_DOWNTIME_MS;
  if (previous === ms) return undefined;
  const r = await source.exec(setMaxDowntimeArgv(uri, input.domainUuid, ms), { logLevel: 'info' });
  if (r.code !== 0)
    throw new LibvirtError(input.sourceAlias, `setting max downtime: ${virshErrorText(r.stderr, r.code)}`);
  return previous;
}
