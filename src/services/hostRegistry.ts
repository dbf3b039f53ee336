/** The configured hosts, each with its connection and inventory; created and disposed as the list changes. */
import type { Event } from '../core/emitter';
import { Emitter } from '../core/emitter';
import type { HostConnectionOptions } from '../transport/hostConnection';
import { HostConnection } from '../transport/hostConnection';
import type { Logger } from '../transport/logger';
import { resolveHost } from '../transport/sshConfig';
import { HostInventory } from './inventory';

export interface RegistryOptions {
  connection: Omit<HostConnectionOptions, 'resolve'>;
  sshConfigPath(): string;
  libvirtUri(): string;
}

export class HostRegistry {
  private readonly entries = new Map<string, HostInventory>();
  private readonly changeEmitter = new Emitter<void>();
  /** fires when the host list or any host's state or domains change */
  readonly onDidChange: Event<void> = this.changeEmitter.event;
  private readonly subscriptions = new Map<string, { dispose(): void }[]>();
  private readonly migrationEmitter = new Emitter<{ alias: string; domainName: string }>();
  /** a host's libvirt reported a migration of one of its domains (whoever started it) */
  readonly onDidSeeMigration = this.migrationEmitter.event;

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

  /** How Ferry reaches a host (user, address, port): also how a source host is told to reach it. */
  resolve(alias: string) {
    return resolveHost(alias, this.options.sshConfigPath());
  }

  /** Make the registry hold exactly these hosts; new ones start connecting (without prompts). */
  setHosts(aliases: readonly string[]): void {
    const wanted = new Set(aliases);
    for (const [alias, inventory] of this.entries) {
      if (wanted.has(alias)) continue;
      this.subscriptions.get(alias)?.forEach((s) => s.dispose());
      this.subscriptions.delete(alias);
      inventory.connection.dispose();
      inventory.dispose();
      this.entries.delete(alias);
    }
    for (const alias of aliases) {
      if (this.entries.has(alias)) continue;
      const connection = new HostConnection(alias, { ...this.options.connection, resolve: (a) => resolveHost(a, this.options.sshConfigPath()) }, this.log);
      const inventory = new HostInventory(connection, this.options.libvirtUri(), this.log);
      this.entries.set(alias, inventory);
      this.subscriptions.set(alias, [
        inventory.onDidChange(() => this.changeEmitter.fire()),
        inventory.onDidSeeMigration((domainName) => this.migrationEmitter.fire({ alias, domainName })),
      ]);
      connection.connect(false).catch(() => undefined);
    }
    this.changeEmitter.fire();
  }

  dispose(): void {
    this.setHosts([]);
    this.changeEmitter.dispose();
    this.migrationEmitter.dispose();
  }
}
