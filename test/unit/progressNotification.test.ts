import { describe, expect, it, vi } from 'vitest';
import { showProgress } from '../../src/commands/domain/migrate';
import type { JobStats } from '../../src/core/migration/job';
import type { MigrationRecord } from '../../src/core/migration/record';
import { next } from '../../src/core/migration/record';
import type { HostRegistry } from '../../src/services/hostRegistry';
import { MigrationRunner } from '../../src/services/migration/runner';
import type { MigrationStore } from '../../src/services/migration/watch';
import { silentLogger } from '../../src/transport/logger';
import { fresh, reading, seriesNamed } from './recordedRuns';

/** the progress notification as VS Code would show it: every message reported to it, in order (vi.mock is hoisted above the imports) */
const shown = vi.hoisted(() => ({ messages: [] as string[] }));
vi.mock('vscode', async () => ({
  l10n: { t: (await import('../support/l10n')).l10nT },
  ProgressLocation: { Notification: 15 },
  window: {
    withProgress: (_options: unknown, task: (progress: unknown, token: unknown) => Promise<void>) =>
      task(
        { report: ({ message }: { message?: string }) => void (message !== undefined && shown.messages.push(message)) },
        { onCancellationRequested: () => ({ dispose() {} }) },
      ),
  },
}));

/** The runner with no hosts: readings reach it as its watcher hands them over (its private entry points). */
function runner() {
  const registry = {
    onDidSeeMigration: () => ({ dispose() {} }),
    onDidSeeKubevirtMigration: () => ({ dispose() {} }),
    get: () => undefined,
    hosts: [],
  } as unknown as HostRegistry;
  const store: MigrationStore = {
    loadActive: () => [],
    saveActive: async () => {},
    addToHistory: async () => {},
    operationRun: async () => undefined,
  };
  const migrations = new MigrationRunner(registry, store, { libvirtUri: 'qemu:///system' }, silentLogger);
  const inside = migrations as unknown as {
    changed(r: MigrationRecord): void;
    sampled(r: MigrationRecord, stats: JobStats): MigrationRecord;
  };
  return {
    migrations,
    changed: (r: MigrationRecord) => inside.changed(r),
    sampled: (r: MigrationRecord, stats: JobStats) => inside.sampled(r, stats),
  };
}

describe('the progress notification of a migration', () => {
  it('held at 99 % while pass after pass is sent, says the pass it is at', async () => {
    // the run under a 40 MiB/s cap that never converged, with what is left after each pass made small enough to
    // show 99 %: from its second pass on only the iteration moves
    const stuck = seriesNamed('not-converging').samples.map((s) =>
      s.iteration >= 2 ? { ...s, remaining: Math.min(s.remaining, Math.floor(s.total / 200)) } : s,
    );
    const { migrations, changed, sampled } = runner();
    let record = next(fresh(), { kind: 'launched' });
    changed(record);
    let finish!: (r: MigrationRecord) => void;
    const done = new Promise<MigrationRecord>((resolve) => (finish = resolve));
    const notification = showProgress({ migrations, log: silentLogger }, record, done);
    shown.messages.length = 0;
    const at99 = new Set<number>();
    for (const s of stuck) {
      record = sampled(record, reading(s));
      if (record.percent === 99) at99.add(s.iteration);
    }
    expect([...at99]).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const last = stuck.at(-1)!;
    expect(shown.messages.at(-1)).toMatch(new RegExp(`^99% · .* · iteration ${last.iteration}$`));
    // one message per pass at 99 %, each with that pass
    expect(
      shown.messages.filter((m) => m.startsWith('99%')).map((m) => Number(/iteration (\d+)$/.exec(m)?.[1])),
    ).toEqual([...at99]);
    finish(record);
    await notification;
    migrations.dispose();
  });
});
