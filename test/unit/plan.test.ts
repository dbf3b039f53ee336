import { silentLogger } from '../../src/transport/logger';
import { describe, expect, it } from 'vitest';
import type { Domain } from '../../src/core/domain';
import { PROFILES } from '../../src/core/migration/job';
import type { MigrationOptions } from '../../src/core/migration/job';
import type { MigrationRecord } from '../../src/core/migration/record';
import { plannedRecord } from '../../src/core/migration/record';
import type { LaunchRequest } from '../../src/services/migration/launch';
import type { MigrationDecisions, MigrationPlanDeps } from '../../src/services/migration/plan';
import { planMigration, PlanStopped } from '../../src/services/migration/plan';
import type { PreflightCheck } from '../../src/services/preflight';

const domain: Domain = {
  uuid: '1d8804d1-ecca-43d9-9b8e-ae30c31ff75b',
  name: 'tiny1',
  state: 'running',
  stateReason: 1,
  ips: [],
  heardIps: [],
};
const check = (id: string, status: PreflightCheck['status']): PreflightCheck => ({
  id,
  title: id,
  status,
  evidence: `${id} evidence`,
});

/** a fake pair of hosts: the preflight answers with `checks`; starts are recorded, nothing runs */
function fakeHosts(checks: PreflightCheck[]) {
  const started: LaunchRequest[] = [];
  const deps: MigrationPlanDeps = {
    preflight: async () => ({ checks, sourceVersions: { libvirt: '9.0.0' }, targetVersions: { libvirt: '9.0.0' } }),
    start: async (request) => {
      started.push(request);
      const record = plannedRecord({
        id: `${request.domainUuid}-1`,
        domainUuid: request.domainUuid,
        domainName: request.domainName,
        source: request.sourceAlias,
        target: request.targetAlias,
        startedAt: 1,
      });
      return { record, done: Promise.resolve(record as MigrationRecord) };
    },
    follow: async (record) => record,
    conntrackBudgetMs: 200,
    log: silentLogger,
  };
  return { deps, started };
}
/** a person who answers as told, and what they were asked */
function person(answers: { acceptWarnings?: boolean; addresses?: string[] } = {}) {
  const asked: string[] = [];
  const remembered: { profile: string; options: MigrationOptions }[] = [];
  const decisions: MigrationDecisions = {
    duringPreflight: (work) => work(),
    preflightFailed: (failed) => void asked.push(`failed: ${failed.map((c) => c.id).join(',')}`),
    acceptWarnings: async (warnings) => (
      asked.push(`warnings: ${warnings.map((c) => c.id).join(',')}`),
      answers.acceptWarnings ?? false
    ),
    addresses: async () => (asked.push('addresses'), answers.addresses),
    rememberOptions: async (profile, options) => void remembered.push({ profile, options }),
  };
  return { decisions, asked, remembered };
}
const request = (profile: string, options: MigrationOptions, extra = {}) => ({
  source: 'hostA',
  target: 'hostB',
  domain,
  profile,
  options,
  ...extra,
});

describe('planning a migration: preflight, fallback rules, remembered options, start', () => {
  it('starts when every check passes, asking nothing, remembering the options, under the operation given', async () => {
    const { deps, started } = fakeHosts([check('state', 'pass'), check('cpu', 'pass')]);
    const p = person();
    await planMigration(deps, request('safe', PROFILES.safe.options, { operationId: 'op-1' }), p.decisions);
    expect(p.asked).toEqual([]);
    expect(started).toMatchObject([
      {
        sourceAlias: 'hostA',
        targetAlias: 'hostB',
        domainUuid: domain.uuid,
        options: PROFILES.safe.options,
        operationId: 'op-1',
        versions: { source: { libvirt: '9.0.0' } },
      },
    ]);
    expect(p.remembered).toEqual([{ profile: 'safe', options: PROFILES.safe.options }]);
  });

  it('stops on a failed check, saying which, and starts nothing', async () => {
    const { deps, started } = fakeHosts([check('state', 'pass'), check('kernel-file', 'fail')]);
    const p = person();
    await expect(planMigration(deps, request('safe', PROFILES.safe.options), p.decisions)).rejects.toBeInstanceOf(
      PlanStopped,
    );
    expect(p.asked).toEqual(['failed: kernel-file']);
    expect(started).toEqual([]);
    expect(p.remembered).toEqual([]);
  });

  it('asks about warnings; declined, nothing starts; a caller that answered everything is not asked', async () => {
    const declined = fakeHosts([check('memory', 'warn')]);
    const p = person({ acceptWarnings: false });
    await expect(
      planMigration(declined.deps, request('safe', PROFILES.safe.options), p.decisions),
    ).rejects.toBeInstanceOf(PlanStopped);
    expect([p.asked, declined.started]).toEqual([['warnings: memory'], []]);
    const unattended = fakeHosts([check('memory', 'warn')]);
    const q = person();
    await planMigration(unattended.deps, request('safe', PROFILES.safe.options, { unattended: true }), q.decisions);
    expect([q.asked, unattended.started.length]).toEqual([[], 1]);
  });

  it('Large VM: zero-copy dropped where its prerequisites are not met, without asking about it; the choice remembered as made', async () => {
    const { deps, started } = fakeHosts([check('zerocopy', 'warn')]);
    const p = person({ addresses: ['10.0.1.100'] }); // the profile keeps TCP connections
    await planMigration(deps, request('largeVm', PROFILES.largeVm.options), p.decisions);
    expect(p.asked).toEqual(['addresses']);
    expect(started[0].options.zeroCopy).toBe(false);
    expect(p.remembered[0].options).toEqual(PROFILES.largeVm.options);
  });

  it("keeping TCP connections asks for the VM's addresses, and starts nothing without them", async () => {
    const keep = { ...PROFILES.safe.options, keepTcpConnections: true };
    const given = fakeHosts([check('state', 'pass')]);
    const p = person({ addresses: ['10.0.1.100'] });
    await planMigration(given.deps, request('custom', keep), p.decisions);
    expect(given.started[0].keepConnections).toEqual({ addresses: ['10.0.1.100'], budgetMs: 200 });
    const none = fakeHosts([check('state', 'pass')]);
    await expect(planMigration(none.deps, request('custom', keep), person().decisions)).rejects.toBeInstanceOf(
      PlanStopped,
    );
    expect(none.started).toEqual([]);
  });
});
