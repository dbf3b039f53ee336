/**
 * Which running domains run a replaced QEMU, per host. Read with one probe per host (libvirt's status files, then
 * /proc as data: core/qemuBinary) when the host connects, when its set of running domains changes (a lifecycle
 * event, a migration arriving or leaving), and on demand: never polled. A running domain the probe could not judge
 * is held with the reason, and is neither stale nor current to callers.
 */
import { DisposableStore } from '../core/disposables';
import { Emitter } from '../core/emitter';
import type { Event } from '../core/emitter';
import type { QemuBinaryState } from '../core/qemuBinary';
import { describeStale, isStale, parseQemuProbe, unknownQemu } from '../core/qemuBinary';
import { qemuProbeArgv } from '../remote/qemuProbe';
import type { Logger } from '../transport/logger';
import type { HostRegistry } from './hostRegistry';

interface HostReading {
  /** the running domains the reading was for, as "uuid uuid …" */
  running: string;
  states: Map<string, QemuBinaryState>;
}

export class QemuBinaries {
  private readonly disposables = new DisposableStore();
  private readonly readings = new Map<string, HostReading>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly changeEmitter = this.disposables.add(new Emitter<string>());
  /** a host's readings changed (its alias) */
  readonly onDidChange: Event<string> = this.changeEmitter.event;

  constructor(
    private readonly registry: HostRegistry,
    private readonly log: Logger,
  ) {
    this.disposables.add(registry.onDidChange((alias) => alias !== undefined && this.maybeProbe(alias)));
  }

  private runningOn(alias: string): string | undefined {
    const host = this.registry.get(alias);
    if (!host || host.connection.state.kind !== 'connected' || !host.domains) return undefined;
    return host.domains
      .filter((d) => d.state === 'running' || d.state === 'paused')
      .map((d) => d.uuid)
      .sort()
      .join(' ');
  }

  private maybeProbe(alias: string) {
    const running = this.runningOn(alias);
    if (running === undefined || this.readings.get(alias)?.running === running || this.inFlight.has(alias)) return;
    void this.probe(alias).catch((e) => this.log.warn(`qemu probe on ${alias}: ${(e as Error).message}`));
  }

  /**
   * The host's domains listed again, then its QEMU processes read: for a check right after a domain was started anew
   * (maybe across a reconnect), when the running set the probe goes by may not show it yet.
   */
  async probeAfterListing(alias: string): Promise<void> {
    await this.registry
      .get(alias)
      ?.refresh()
      .catch(() => undefined);
    return this.probe(alias);
  }

  /** Read the host's QEMU processes: a reading that starts after this call (after any already under way). */
  probe(alias: string): Promise<void> {
    const previous = this.inFlight.get(alias) ?? Promise.resolve();
    const work: Promise<void> = previous
      .catch(() => undefined)
      .then(() => this.read(alias))
      .finally(() => {
        if (this.inFlight.get(alias) === work) this.inFlight.delete(alias);
        this.maybeProbe(alias); // the running set may have changed while it read
      });
    this.inFlight.set(alias, work);
    return work;
  }

  private async read(alias: string): Promise<void> {
    const host = this.registry.get(alias);
    if (!host) return;
    const running = this.runningOn(alias) ?? '';
    // nothing runs there, so nothing runs a replaced QEMU: no need to walk the host's processes
    let states = new Map<string, QemuBinaryState>();
    if (running !== '') {
      const r = await host.connection.exec(qemuProbeArgv(), { timeoutMs: 30_000 });
      if (r.code !== 0) throw new Error(r.stderr.trim() || `exit ${r.code}`);
      if (r.stderr.trim())
        this.log.warn(`qemu probe on ${alias}: ${[...new Set(r.stderr.trim().split('\n'))].join('; ')}`);
      states = parseQemuProbe(r.stdout);
      for (const uuid of running.split(' ')) {
        if (!states.has(uuid))
          states.set(uuid, unknownQemu("libvirt's status file for it was not found or not readable"));
        const unknown = states.get(uuid)!.unknown;
        if (unknown !== undefined)
          this.log.warn(`qemu probe on ${alias}: the QEMU of domain ${uuid} cannot be judged: ${unknown}`);
      }
    }
    const before = this.readings.has(alias) ? this.staleSummary(alias) : undefined;
    this.readings.set(alias, { running, states });
    // a reading that shows what is shown already redraws nothing
    if (this.staleSummary(alias) !== before) this.changeEmitter.fire(alias);
  }

  /** what the tree shows of a host's readings: each stale domain and what is said of it */
  private staleSummary(alias: string): string {
    return JSON.stringify(
      this.staleOn(alias)
        .sort()
        .map((uuid) => [uuid, this.describe(alias, uuid)]),
    );
  }

  /** what is known of a running domain's QEMU; undefined when it was not read, or could not be judged (see unknownReason) */
  state(alias: string, uuid: string): QemuBinaryState | undefined {
    const state = this.readings.get(alias)?.states.get(uuid);
    return state?.unknown === undefined ? state : undefined;
  }

  /** why a running domain's QEMU could not be judged, when it could not */
  unknownReason(alias: string, uuid: string): string | undefined {
    return this.readings.get(alias)?.states.get(uuid)?.unknown;
  }

  /** the running domains of a host whose QEMU is stale */
  staleOn(alias: string): string[] {
    return [...(this.readings.get(alias)?.states ?? [])].filter(([, s]) => isStale(s)).map(([uuid]) => uuid);
  }

  /** what the tree says of a domain's QEMU ("runs a replaced QEMU 10.0.2 binary"), when it is stale */
  describe(alias: string, uuid: string): string | undefined {
    const state = this.state(alias, uuid);
    return state && describeStale(state);
  }

  staleCount(alias: string): number {
    return this.staleOn(alias).length;
  }

  dispose(): void {
    this.disposables.dispose();
  }
}
