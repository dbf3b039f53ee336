/**
 * One migration from request to running: preflight, the profile's fallback rules, remembered options, start. Every
 * question for a person comes in as a callback, so a command (pickers, modals) and a composed operation (the QEMU
 * hot-upgrade's two legs under one operationId) use the same sequence.
 */
import type { Logger } from '../../transport/logger';
import type { Domain } from '../../core/domain';
import type { MigrationOptions, ProfileId } from '../../core/migration/job';
import { optionProblems } from '../../core/migration/job';
import type { MigrationRecord } from '../../core/migration/record';
import type { HostRegistry } from '../hostRegistry';
import type { PreflightCheck, PreflightResult } from '../preflight';
import { runPreflight } from '../preflight';
import type { LaunchRequest } from './launch';
import type { MigrationRunner } from './runner';

export interface MigrationPlanRequest {
  source: string;
  target: string;
  domain: Domain;
  /** a profile's id, 'custom', or a remembered choice's name */
  profile: ProfileId | string;
  options: MigrationOptions;
  /** the caller has already answered every question (tests, composed operations): warnings do not stop it */
  unattended?: boolean;
  /** the VM's addresses for "keep TCP connections", when the caller knows them */
  addresses?: string[];
  /** work made of several migrations (a hot-upgrade's legs) shares one id */
  operationId?: string;
  /** its part in that work, e.g. "upgrading QEMU, leg 1 of 2" */
  operationStep?: string;
}

export interface MigrationDecisions {
  /** runs the preflight, e.g. under a progress notification */
  duringPreflight<T>(work: () => Promise<T>): PromiseLike<T>;
  /** the checklist of a preflight that failed: the plan stops after saying so */
  preflightFailed(failed: PreflightCheck[], checklist: string): void;
  /** go on despite these warnings? */
  acceptWarnings(warnings: PreflightCheck[], checklist: string): Promise<boolean>;
  /** the VM's addresses for "keep TCP connections"; undefined: the person gave none */
  addresses(): Promise<string[] | undefined>;
  rememberOptions(profile: string, options: MigrationOptions): Promise<void>;
}

/** What a plan does on the hosts: the preflight and the start (livePlanDeps gives the real ones). */
export interface MigrationPlanDeps {
  preflight(request: {
    source: string;
    target: string;
    domain: Domain;
    options: MigrationOptions;
  }): Promise<PreflightResult>;
  start(request: LaunchRequest): Promise<{ record: MigrationRecord; done: Promise<MigrationRecord> }>;
  /** watch a migration a host-side run of Ferry's started (an in-place upgrade's hop) */
  follow(record: MigrationRecord): Promise<MigrationRecord>;
  conntrackBudgetMs: number;
  log: Pick<Logger, 'info'>;
}

export function livePlanDeps(
  registry: HostRegistry,
  runner: MigrationRunner,
  uri: string,
  conntrackBudgetMs: number,
  log: Pick<Logger, 'info'>,
): MigrationPlanDeps {
  const host = (alias: string) => registry.require(alias);
  return {
    preflight: async ({ source, target, domain, options }) =>
      runPreflight({
        uri,
        source: host(source).connection,
        target: host(target).connection,
        targetHost: await registry.resolve(target),
        domain,
        options,
      }),
    start: (request) => runner.start(request),
    follow: (record) => runner.follow(record),
    conntrackBudgetMs,
    log,
  };
}

/** Why a plan did not start a migration (a failed preflight, a declined question); the caller has been told. */
export class PlanStopped extends Error {}

const ICON: Record<PreflightCheck['status'], string> = { pass: '✔', warn: '⚠', fail: '✖' };
const checklistOf = (p: PreflightResult) =>
  p.checks.map((c) => `${ICON[c.status]} ${c.title}: ${c.evidence}`).join('\n');

export async function planMigration(
  deps: MigrationPlanDeps,
  request: MigrationPlanRequest,
  decisions: MigrationDecisions,
): Promise<{ record: MigrationRecord; done: Promise<MigrationRecord> }> {
  const { source, target, domain } = request;
  let options = request.options;
  const problems = optionProblems(options);
  if (problems.length) throw new Error(`These options cannot work together: ${problems.join('; ')}.`);
  const preflight = await decisions.duringPreflight(() => deps.preflight({ source, target, domain, options }));
  const checklist = checklistOf(preflight);
  deps.log.info(`preflight ${domain.name} ${source} → ${target}:\n${checklist}`);
  const failed = preflight.checks.filter((c) => c.status === 'fail');
  if (failed.length) {
    decisions.preflightFailed(failed, checklist);
    throw new PlanStopped(`preflight failed: ${failed.map((c) => c.title).join(', ')}`);
  }
  // "where possible": the Large VM profile drops zero-copy when its prerequisites are not visibly met
  const zeroCopyDropped =
    request.profile === 'largeVm' && preflight.checks.some((c) => c.id === 'zerocopy' && c.status === 'warn');
  if (zeroCopyDropped) {
    options = { ...options, zeroCopy: false };
    deps.log.info(`Large VM profile: zero-copy dropped for ${domain.name}, its prerequisites are not met on ${source}`);
  }
  const warnings = preflight.checks.filter((c) => c.status === 'warn' && !(zeroCopyDropped && c.id === 'zerocopy'));
  if (warnings.length && !request.unattended && !(await decisions.acceptWarnings(warnings, checklist)))
    throw new PlanStopped('preflight warnings not accepted');
  const addresses = options.keepTcpConnections ? (request.addresses ?? (await decisions.addresses())) : undefined;
  if (options.keepTcpConnections && !addresses) throw new PlanStopped('no addresses given for "keep TCP connections"');
  await decisions.rememberOptions(request.profile, request.options);
  return deps.start({
    sourceAlias: source,
    targetAlias: target,
    domainUuid: domain.uuid,
    domainName: domain.name,
    options,
    versions: { source: preflight.sourceVersions, target: preflight.targetVersions },
    keepConnections: addresses ? { addresses, budgetMs: deps.conntrackBudgetMs } : undefined,
    operationId: request.operationId,
    operationStep: request.operationStep,
  });
}
