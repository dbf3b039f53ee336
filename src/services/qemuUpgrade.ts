/**
 * Moving running domains onto a newly installed QEMU without stopping them. libvirt refuses a same-host migration,
 * so the way is a round trip: live-migrate to a peer host that can take the domain, then back, one operation
 * (one operationId for both legs). The new QEMU process on the way back runs the installed binary; the probe
 * confirms it. If the way back fails the domain stays running on the peer, and the result says where it is.
 */
import type { Domain } from '../core/domain';
import type { MigrationOptions } from '../core/migration/job';
import { DEFAULT_MAX_DOWNTIME_MS } from '../core/migration/monitor';
import type { MigrationRecord } from '../core/migration/record';
import { describeStale } from '../core/qemuBinary';
import type { HostRegistry } from './hostRegistry';
import type { MigrationDecisions, MigrationPlanDeps } from './migration/plan';
import { planMigration } from './migration/plan';
import type { QemuBinaries } from './qemuBinaries';

export interface UpgradeRow {
  alias: string;
  domain: Domain;
  /** what it runs now ("runs a replaced QEMU 10.0.2 binary"); undefined when it already runs the installed one */
  stale?: string;
  method: 'roundTrip' | 'none';
  peer?: string;
  why: string;
  expectedPause: string;
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
): Promise<UpgradeRow[]> {
  await Promise.all([...new Set(domains.map((d) => d.alias))].map((alias) => qemu.probe(alias)));
  const plannedKiB = new Map<string, number>();
  const rows: UpgradeRow[] = [];
  const pause = `two switchovers of a live migration, each at most ${options.maxDowntimeMs ?? DEFAULT_MAX_DOWNTIME_MS} ms (the max downtime)`;
  for (const { alias, domain } of domains) {
    const state = qemu.state(alias, domain.uuid);
    const stale = state && describeStale(state);
    if (!stale) {
      rows.push({ alias, domain, method: 'none', why: state ? 'already runs the installed QEMU' : `not running on ${alias}`, expectedPause: 'none' });
      continue;
    }
    const refusals: string[] = [];
    let peer: string | undefined;
    for (const candidate of registry.hosts) {
      if (candidate.alias === alias || candidate.connection.state.kind !== 'connected') continue;
      const result = await preflight({ source: alias, target: candidate.alias, domain, options });
      // a peer with an older QEMU than the domain runs cannot be trusted to take it (machine types, devices)
      const failed = result.checks.filter((c) => c.status === 'fail' || (c.id === 'versions' && c.status === 'warn'));
      const free = result.checks.find((c) => c.id === 'memory');
      const needKiB = (plannedKiB.get(candidate.alias) ?? 0) + (domain.memoryKiB ?? 0);
      const available = result.targetAvailableKiB;
      if (!failed.length && (available === undefined || available >= needKiB)) {
        peer = candidate.alias;
        plannedKiB.set(candidate.alias, needKiB);
        break;
      }
      refusals.push(`${candidate.alias}: ${failed.length ? failed.map((c) => `${c.title} (${c.evidence})`).join('; ') : `not enough memory for every domain planned to it (${free?.evidence ?? '?'})`}`);
    }
    rows.push(
      peer
        ? { alias, domain, stale, method: 'roundTrip', peer, why: `${stale}; ${peer} can take it (preflight passed)`, expectedPause: pause }
        : { alias, domain, stale, method: 'none', why: `${stale}; no connected host can take it${refusals.length ? `: ${refusals.join(' · ')}` : ''}`, expectedPause: 'none (not moved)' },
    );
  }
  return rows;
}

export interface UpgradeOutcome {
  ok: boolean;
  /** where the domain runs now */
  where: string;
  legs: MigrationRecord[];
  message: string;
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
    const started = await planMigration(deps, { source, target, domain: row.domain, profile, options, unattended: true, operationId, operationStep }, decisions);
    onLeg(n, started.record, started.done);
    const done = await started.done;
    legs.push(done);
    return done;
  };
  const name = row.domain.name;
  const there = await leg(1, row.alias, row.peer);
  if (there.phase !== 'completed') {
    return { ok: false, where: row.alias, legs, message: `${name} stayed on ${row.alias}: the move to ${row.peer} ${there.phase}${there.error ? ` (${there.error})` : ''}. It runs as before.` };
  }
  let back: MigrationRecord;
  try {
    back = await leg(2, row.peer, row.alias);
  } catch (e) {
    return { ok: false, where: row.peer, legs, message: `${name} is running on ${row.peer}: the way back to ${row.alias} did not start (${(e as Error).message}). Run the upgrade again, or migrate it back, once ${row.alias} can take it.` };
  }
  if (back.phase !== 'completed') {
    return { ok: false, where: row.peer, legs, message: `${name} is running on ${row.peer}: the way back to ${row.alias} ${back.phase}${back.error ? ` (${back.error})` : ''}. Run the upgrade again, or migrate it back, once ${row.alias} can take it.` };
  }
  await qemu.probe(row.alias);
  const state = qemu.state(row.alias, row.domain.uuid);
  const still = state && describeStale(state);
  if (!state || still) return { ok: false, where: row.alias, legs, message: `${name} is back on ${row.alias} but ${still ?? 'its QEMU process was not found'}.` };
  return { ok: true, where: row.alias, legs, message: `${name} now runs the installed QEMU${state.runningVersion ? ` ${state.runningVersion}` : ''} on ${row.alias} (round trip via ${row.peer}).` };
}
