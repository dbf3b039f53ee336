/**
 * Migration records in the extension's storage: running ones in globalState (small, without samples), finished ones
 * as one JSON file per run under globalStorage/history/<domain uuid>/, samples and findings included.
 */
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
    await this.context.globalState.update(ACTIVE_KEY, records.map((r) => ({ ...r, samples: [] })));
  }

  private dir(domainUuid?: string) {
    const root = vscode.Uri.joinPath(this.context.globalStorageUri, 'history');
    return domainUuid ? vscode.Uri.joinPath(root, domainUuid) : root;
  }

  private async read(uri: vscode.Uri): Promise<MigrationRecord | undefined> {
    try {
      return JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri))) as MigrationRecord;
    } catch {
      return undefined;
    }
  }

  /** A domain's finished runs, oldest first. */
  async history(domainUuid: string): Promise<MigrationRecord[]> {
    let entries: [string, vscode.FileType][] = [];
    try {
      entries = await vscode.workspace.fs.readDirectory(this.dir(domainUuid));
    } catch {
      return [];
    }
    const runs = await Promise.all(entries.filter(([n]) => n.endsWith('.json')).map(([n]) => this.read(vscode.Uri.joinPath(this.dir(domainUuid), n))));
    return runs.filter((r): r is MigrationRecord => !!r).sort((a, b) => a.startedAt - b.startedAt);
  }

  /** Every stored run of every domain, newest first. */
  async allRuns(): Promise<MigrationRecord[]> {
    let domains: [string, vscode.FileType][] = [];
    try {
      domains = await vscode.workspace.fs.readDirectory(this.dir());
    } catch {
      return [];
    }
    const runs = (await Promise.all(domains.filter(([, t]) => t === vscode.FileType.Directory).map(([uuid]) => this.history(uuid)))).flat();
    return runs.sort((a, b) => b.startedAt - a.startedAt);
  }

  async run(domainUuid: string, id: string): Promise<MigrationRecord | undefined> {
    return this.read(vscode.Uri.joinPath(this.dir(domainUuid), `${id}.json`));
  }

  async addToHistory(record: MigrationRecord): Promise<void> {
    const dir = this.dir(record.domainUuid);
    await vscode.workspace.fs.createDirectory(dir);
    await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(dir, `${record.id}.json`), new TextEncoder().encode(JSON.stringify(record)));
    const runs = await this.history(record.domainUuid);
    for (const old of runs.slice(0, Math.max(0, runs.length - HISTORY_PER_DOMAIN))) {
      await vscode.workspace.fs.delete(vscode.Uri.joinPath(dir, `${old.id}.json`)).then(undefined, () => undefined);
    }
  }

  lastOptions(source: string, target: string): { profile: string; options: MigrationOptions } | undefined {
    return this.context.globalState.get(`ferry.migration.last:${source}→${target}`);
  }

  async rememberOptions(source: string, target: string, profile: string, options: MigrationOptions): Promise<void> {
    await this.context.globalState.update(`ferry.migration.last:${source}→${target}`, { profile, options });
  }
}
