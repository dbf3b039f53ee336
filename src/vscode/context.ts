import type { RateUnit } from '../core/qos';
import type { HostRegistry } from '../services/hostRegistry';
import type { MigrationRunner } from '../services/migration';
import type { QemuBinaries } from '../services/qemuBinaries';
import type { QosService } from '../services/qos';
import type { InPlacePostcopy } from '../core/inPlace';
import type { Logger } from '../transport/logger';
import type { ExtensionMigrationStore } from './migrationStore';

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
  /** in place first when the host qualifies (ferry.qemu.inPlace), and its hops' postcopy (ferry.qemu.inPlacePostcopy) */
  inPlace(): boolean;
  inPlacePostcopy(): InPlacePostcopy;
  /** the unit limits are shown in (ferry.qos.rateUnit) */
  qosRateUnit(): RateUnit;
  libvirtUri(): string;
  conntrackBudgetMs(): number;
  log: Logger;
  showLog(): void;
}
