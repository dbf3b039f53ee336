/** Migration records in the extension's storage: running ones in globalState (small), history as JSON files per domain. */
import * as vscode from 'vscode';
import type { MigrationOptions } from '../core/migration';
import type { MigrationRecord, MigrationStore } from '../services/migration';

const ACTIVE_KEY = 'ferry.migrations.active';
const HISTORY_PER_DOMAIN = 50;

export class ExtensionMigrationStore implements MigrationStore {
  constructor(private readonly context: vscode.ExtensionContext) {}

  loadActive(): MigrationRecord[] {
    return this.context.globalState.get<MigrationRecord[]>(ACTIVE_KEY, []);
  }

  async saveActive(records: MigrationRecord[]): Promise<void> {
    // samples are kept in memory while running and written with the history; the record itself stays small
    await this.context.globalState.update(ACTIVE_KEY, records.map((r) => ({ ...r, samples: [] })));
  }

  private historyUri(domainUuid: string) {
    return vscode.Uri.joinPath(this.context.globalStorageUri, 'history', `${domainUuid}.json`);
  }

  async history(domainUuid: string): Promise<MigrationRecord[]> {
    try {
      return JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(this.historyUri(domainUuid)))) as MigrationRecord[];
    } catch {
      return [];
    }
  }

  async addToHistory(record: MigrationRecord): Promise<void> {
    const runs = [...(await this.history(record.domainUuid)), record].slice(-HISTORY_PER_DOMAIN);
    await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(this.context.globalStorageUri, 'history'));
    await vscode.workspace.fs.writeFile(this.historyUri(record.domainUuid), new TextEncoder().encode(JSON.stringify(runs)));
  }

  lastOptions(source: string, target: string): { profile: string; options: MigrationOptions } | undefined {
    return this.context.globalState.get(`ferry.migration.last:${source}→${target}`);
  }

  async rememberOptions(source: string, target: string, profile: string, options: MigrationOptions): Promise<void> {
    await this.context.globalState.update(`ferry.migration.last:${source}→${target}`, { profile, options });
  }
}
