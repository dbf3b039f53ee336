/**
 * "Keep TCP connections": the gated switchover. virsh migrate --suspend leaves the domain paused on the target; the
 * VM's conntrack state is moved, then the target is resumed. The extra pause is measured and reported.
 */
import { isUuid } from '../../core/domain';
import { deferred } from '../../core/emitter';
import { gatePathText, loadText, replaceText } from '../../core/conntrack';
import { exitLine } from '../../core/migration/job';
import type { GateReport, MigrationRecord } from '../../core/migration/record';
import type { HostConnection } from '../../transport/hostConnection';
import type { Logger } from '../../transport/logger';
import { netfilterBackend } from '../conntrack';
import { VirshShell } from '../virshShell';

/** "Keep TCP connections": migrate with --suspend, sync conntrack, resume the target after the final import. */
export interface KeepConnections {
  addresses: string[];
  /** the final import's budget; past it the target is resumed anyway (ferry.conntrack.budgetMs) */
  budgetMs: number;
}

/** A prepared switchover gate: `switchoverSeen(0)` runs it, any other exit status ends it without running. */
export interface Gate {
  done: Promise<GateReport>;
  switchoverSeen(exitCode: number): void;
}

/** If Ferry is gone when the switchover comes, the source host itself resumes the target after this long. */
export const GATE_FAILSAFE_S = 10;

/**
 * The gated switchover. Channels are opened now and wait: one watches virsh's log for the end of the migration,
 * one lists the flows on the source at once (the bulk copy, loaded on the target while memory moves) and will list
 * what changed since, one will load those on the target, and a virsh connected to the target's libvirt will resume
 * the domain there. At the switchover they only need a go, so the extra pause is the second listing, its load and
 * the resume, not SSH set-up, a virsh starting or the bulk.
 */
export function prepareGate(
  hosts: { source: HostConnection; target: HostConnection },
  uri: string,
  log: Logger,
  record: MigrationRecord,
  logPath: string,
  keep: KeepConnections,
  destUri: string,
): Gate {
  const { source, target } = hosts;
  const importData = deferred<string>();
  const listing = netfilterBackend.snapshotThenChanges(source, keep.addresses);
  const importing = netfilterBackend.import(target, importData.promise);
  // a virsh already connected to the target's libvirt: at the go, the resume costs a libvirt call, not a virsh
  // process and its connection (17–29 ms in the lab)
  const resumer = VirshShell.open(target, uri, 'resume shell');
  for (const waiting of [listing, importing, resumer]) waiting.catch(() => undefined); // awaited only on a switchover
  const cancel = () => {
    // end every waiting channel: the gated commands never run
    void listing.then(
      (l) => l.cancel(),
      () => undefined,
    );
    importData.resolve('');
    void resumer.then(
      (shell) => shell.close(),
      () => undefined,
    );
  };
  const report: GateReport = { addresses: keep.addresses };
  const switchover = deferred<number>();
  let logStream: { close(): void } | undefined;
  void source
    .stream(['tail', '-n', '+1', '-F', logPath], (line) => {
      const exit = exitLine(line);
      if (exit !== undefined) switchover.resolve(exit);
    })
    .then(
      (s) => (logStream = s),
      () => switchover.resolve(-1),
    );
  // the bulk copy while memory is copied: most flows are in place before the switchover. If its load fails, its
  // flows go with the final changes instead (a longer pause, not flows lost)
  let bulkNotLoaded = '';
  const bulkCopied = listing
    .then((l) => l.snapshot)
    .then(async (bulk) => {
      try {
        await netfilterBackend.import(target, Promise.resolve(loadText(bulk.flows)));
        report.bulkEntries = bulk.flows.length;
      } catch (e) {
        bulkNotLoaded = loadText(bulk.flows);
        report.bulkNotLoaded = bulk.flows.length;
        log.warn(
          `migration ${record.id}: the bulk conntrack copy failed (${(e as Error).message}); its ${bulk.flows.length} flows will be loaded at the switchover`,
        );
      }
    })
    .catch((e: Error) => log.warn(`migration ${record.id}: bulk conntrack listing failed: ${e.message}`));
  const done = (async (): Promise<GateReport> => {
    const exit = await switchover.promise;
    logStream?.close();
    if (exit !== 0) {
      cancel();
      return report;
    }
    const started = performance.now();
    const lap = (since: number) => Math.round(performance.now() - since);
    try {
      const { flows, path } = await (await listing).changes();
      report.listMs = lap(started);
      report.finalChanged = flows.length;
      report.listPath = path;
      await bulkCopied; // (long done unless the migration was very short) the changes must land after the bulk
      importData.resolve(bulkNotLoaded + replaceText(flows)); // changed flows replace the bulk copy's older state
      const loading = performance.now();
      // nothing changed since the bulk copy: the target already holds every flow, no need to wait for the load
      const left = keep.budgetMs - (performance.now() - started);
      const inTime =
        (!flows.length && !bulkNotLoaded) ||
        (await Promise.race([
          importing.then(
            () => true,
            () => false,
          ),
          new Promise<'late'>((r) => setTimeout(() => r('late'), Math.max(0, left))),
        ]));
      report.loadMs = lap(loading);
      if (inTime === 'late') {
        report.budgetExceeded = true;
        report.missing = flows.length + (report.bulkNotLoaded ?? 0);
      } else if (!inTime) {
        report.missing = flows.length + (report.bulkNotLoaded ?? 0);
        report.error = 'the final conntrack import failed';
      } else report.missing = 0;
    } catch (e) {
      report.error = `final conntrack sync: ${(e as Error).message}`;
      importData.resolve('');
    }
    const resumeAt = performance.now();
    // resume anyway: a paused VM is worse than a few lost flows. The target's link may be gone by now: that goes
    // into the report; the run still ends and is recorded
    const resumed = await resumeOn(resumer, record.domainUuid);
    report.resumeMs = lap(resumeAt);
    report.extraPauseMs = Math.round(performance.now() - started);
    const problems = [report.error, resumed && `resuming on ${record.target}: ${resumed}`];
    report.error = problems.filter(Boolean).join('; ') || undefined;
    if (report.budgetExceeded) {
      log.warn(
        `migration ${record.id}: the final conntrack import overran its ${keep.budgetMs} ms budget; the domain was resumed with ${report.missing} flows not yet confirmed (the import goes on)`,
      );
    }
    log.info(
      `migration ${record.id}: switchover gate: ${report.bulkEntries ?? 0} flows copied in bulk${report.bulkNotLoaded ? ` (${report.bulkNotLoaded} not: loaded at the switchover)` : ''}, ${report.finalChanged ?? 0} new or changed since (${gatePathText(report.listPath ?? '?')}), extra pause ${report.extraPauseMs} ms (list ${report.listMs ?? '?'}, load ${report.loadMs ?? '?'}, resume ${report.resumeMs ?? '?'}) via ${destUri}`,
    );
    return report;
  })().catch((e: Error) => ({
    ...report,
    error: [report.error, `switchover gate: ${e.message}`].filter(Boolean).join('; '),
  }));
  // the poll loop reads the same exit status from the log: whichever sees it first opens the gate
  return { done, switchoverSeen: (code) => switchover.resolve(code) };
}

/** Resume the domain through the shell opened for it, then ask its state: what went wrong, or undefined. */
async function resumeOn(resumer: Promise<VirshShell>, uuid: string): Promise<string | undefined> {
  // the shell reads words through readline: only a UUID goes into it
  if (!isUuid(uuid)) return `${JSON.stringify(uuid)} is not a domain UUID`;
  try {
    const shell = await resumer;
    try {
      // virsh writes a failed command's error on stderr: the state asked after it tells
      const { texts } = await shell.ask([
        ['resume', uuid],
        ['domstate', uuid],
      ]);
      const state = texts[1].trim();
      return state === 'running'
        ? undefined
        : `the domain is ${state || 'in an unknown state'} there after the resume (check it)`;
    } finally {
      shell.close();
    }
  } catch (e) {
    return `${(e as Error).message} (the domain may still be paused there: check it)`;
  }
}
