/** The configured hosts, each with its connection and inventory; created and disposed as the list changes. */
import type { PodState } from './kubevirtNode';
import type { LifecycleAction } from '../core/domain';
import { RunningIndex, runsElsewhere } from '../core/domain';
import type { Event } from '../core/emitter';
import { DisposableStore } from '../core/disposables';
import { Emitter } from '../core/emitter';
import type { HostConnectionOptions } from '../transport/hostConnection';
import { HostConnection } from '../transport/hostConnection';
import type { Logger } from '../transport/logger';
import { resolveHost } from '../transport/sshConfig';
import { HostInventory } from './inventory';
import type { ServiceSettings } from './settings';

export interface RegistryOptions {
  connection: Omit<HostConnectionOptions, 'resolve'>;
  /** read when a host is resolved or its inventory made, so a changed setting applies from then on */
  settings: ServiceSettings;
}

export class HostRegistry {
  private readonly entries = new Map<string, HostInventory>();
  private readonly changeEmitter = new Emitter<string | undefined>();
  /** fires with the alias of a host whose state or domains changed; undefined when the host list itself did */
  readonly onDidChange: Event<string | undefined> = this.changeEmitter.event;
  /** per host: its connection, inventory and their subscriptions, ended together when the host leaves the list */
  private readonly perHost = new Map<string, DisposableStore>();
  private readonly migrationEmitter = new Emitter<{ alias: string; domainName: string }>();
  /** a host's libvirt reported a migration of one of its domains (whoever started it) */
  readonly onDidSeeMigration = this.migrationEmitter.event;
  private readonly kubevirtMigrationEmitter = new Emitter<{ alias: string; pod: PodState }>();
  private readonly running = new RunningIndex();
  /** KubeVirt began migrating a VM out of a pod on a connected node */
  readonly onDidSeeKubevirtMigration = this.kubevirtMigrationEmitter.event;

  constructor(
    private readonly options: RegistryOptions,
    private readonly log: Logger,
  ) {}

  get hosts(): HostInventory[] {
    return [...this.entries.values()];
  }

  get(alias: string): HostInventory | undefined {
    return this.entries.get(alias);
  }

  /** The host configured as `alias`; throws when there is none (a stale node, a removed host, a typo in a command's argument). */
  require(alias: string): HostInventory {
    const inventory = this.entries.get(alias);
    if (!inventory) throw new Error(`${alias} is not a configured host`);
    return inventory;
  }

  /**
   * Per UUID, the connected hosts where a domain of it runs: the same map object until the domains running on some
   * host change (core/domain RunningIndex).
   */
  whereRunning(): ReadonlyMap<string, readonly string[]> {
    return this.running.update(this.hosts.filter((h) => h.connection.state.kind === 'connected'));
  }

  /** The connected host other than `alias` where a domain of this UUID runs (core/domain runsElsewhere). */
  runningElsewhere(alias: string, uuid: string): string | undefined {
    return runsElsewhere(this.whereRunning(), alias, uuid);
  }

  /**
   * Run a lifecycle action on a domain of a host. A start is refused while a domain of the same UUID runs on another
   * connected host (most often, what is shut off here is the definition a migration left behind), unless the caller
   * has asked the user (`evenIfRunningElsewhere`).
   */
  async runAction(
    alias: string,
    action: LifecycleAction,
    uuid: string,
    { evenIfRunningElsewhere = false } = {},
  ): Promise<void> {
    const inventory = this.require(alias);
    const other = action === 'start' && !evenIfRunningElsewhere ? this.runningElsewhere(alias, uuid) : undefined;
    if (other) throw new Error(runningElsewhereText(alias, other, uuid));
    await inventory.runAction(action, uuid);
  }

  /** How Ferry reaches a host (user, address, port): also how a source host is told to reach it. */
  resolve(alias: string) {
    return resolveHost(alias, this.options.settings.sshConfigPath);
  }

  /** Make the registry hold exactly these hosts; new ones start connecting (without prompts). */
  setHosts(aliases: readonly string[]): void {
    const wanted = new Set(aliases);
    for (const alias of [...this.entries.keys()]) {
      if (wanted.has(alias)) continue;
      this.perHost.get(alias)?.dispose();
      this.perHost.delete(alias);
      this.entries.delete(alias);
    }
    for (const alias of aliases) {
      if (this.entries.has(alias)) continue;
      const store = new DisposableStore();
      const connection = store.add(
        new HostConnection(
          alias,
          { ...this.options.connection, resolve: (a) => resolveHost(a, this.options.settings.sshConfigPath) },
          this.log,
        ),
      );
      const inventory = store.add(new HostInventory(connection, this.options.settings.libvirtUri, this.log));
      store.add(inventory.onDidChange(() => this.changeEmitter.fire(alias)));
      store.add(inventory.onDidSeeMigration((domainName) => this.migrationEmitter.fire({ alias, domainName })));
      store.add(inventory.kubevirt.onDidSeeMigration((pod) => this.kubevirtMigrationEmitter.fire({ alias, pod })));
      this.entries.set(alias, inventory);
      this.perHost.set(alias, store);
      connection.connect(false).catch(() => undefined);
    }
    this.changeEmitter.fire(undefined);
  }

  dispose(): void {
    this.setHosts([]);
    this.changeEmitter.dispose();
    this.migrationEmitter.dispose();
    this.kubevirtMigrationEmitter.dispose();
  }
}

/** why starting a domain whose UUID runs on another host is refused, and what to do */
export function runningElsewhereText(alias: string, other: string, uuid: string): string {
  return (
    `A domain with the same UUID runs on ${other}. If they share their disks, starting it on ${alias} runs two copies ` +
    `on them. If ${alias}'s definition is the one a migration left behind, remove it there ` +
    `(virsh undefine ${uuid}), or migrate with "persistent on target" and "undefine on source", which leave none.`
  );
}
