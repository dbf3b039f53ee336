import type { HostRegistry } from '../services/hostRegistry';
import type { Logger } from '../transport/logger';

/** The one services object the composition root builds and passes to commands and views. */
export interface FerryContext {
  registry: HostRegistry;
  log: Logger;
  showLog(): void;
}
