import type { RateUnit } from '../core/qos';
import type { HostRegistry } from '../services/hostRegistry';
import type { MigrationRunner } from '../services/migration';
import type { QemuBinaries } from '../services/qemuBinaries';
import type { QosService } from '../services/qos';
import type { Logger } from '../transport/logger';
import type { ExtensionMigrationStore } from './migrationStore';
import type { UserInput } from './userInput';

/** The one services object the composition root builds and passes to commands and views. */
export interface FerryContext {
  registry: HostRegistry;
  migrations: MigrationRunner;
  migrationStore: ExtensionMigrationStore;
  qos: QosService;
  /** which running domains run a replaced QEMU */
  qemu: QemuBinaries;
  /** above this expected pause a save and restore is asked about again (ferry.qemu.saveRestoreMaxPauseSeconds) */
  saveRestoreMaxPauseSeconds(): number;
  /** the unit limits are shown in (ferry.qos.rateUnit) */
  qosRateUnit(): RateUnit;
  /** a domain's interface limits changed: the tree reads them again */
  interfacesChanged(alias: string, uuid: string): void;
  libvirtUri(): string;
  conntrackBudgetMs(): number;
  /**
   * open (or reveal) the monitor panel of a run Ferry just started, leaving the focus where it is; a later migration
   * of the same operation continues the panel of the earlier one
   */
  openMonitor(run: {
    id: string;
    domainUuid: string;
    domainName: string;
    source?: string;
    target?: string;
    startedAt?: number;
    operationId?: string;
  }): void;
  log: Logger;
  showLog(): void;
}

/** What a command gets for one run (Container Tools' IActionContext): Ferry's services and who answers its questions. */
export interface CommandContext extends FerryContext {
  /** the command's id */
  command: string;
  /** the window for a person; a ScriptedInput when a test or another tool drives the command */
  ui: UserInput;
}
