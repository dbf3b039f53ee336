/**
 * Migration records in the extension's storage: running ones in globalState (small, without samples), finished ones
 * as one JSON file per run under globalStorage/history/<domain uuid>/<run id>.json, samples and findings included,
 * readable by the user alone. Both path parts must have Ferry's own form (imported runs come from anyone), and the
 * final path must lie inside history/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import * as vscode from 'vscode';
import type { MigrationOptions } from '../core/migration/job';
import type { MigrationStore } from '../services/migration';
import type { MigrationRecord } from '../core/migration/record';
import { isUuid } from '../core/domain';
import { isRunId } from '../core/migration/runFile';

const ACTIVE_KEY = 'ferry.migrations.active';
const HISTORY_PER_DOMAIN = 50;

export class ExtensionMigrationStore implements MigrationStore {
  constructor(private readonly context: vscode.ExtensionContext) {}

  loadActive(): MigrationRecord[] {
    return this.context.globalState.get<MigrationRecord[]>(ACTIVE_KEY, []);
  }

  async saveActive(records: MigrationRecord[]): Promise<void> {
    await this.context.globalState.update(
      ACTIVE_KEY,
      records.map((r) => ({ ...r, samples: [] })),
    );
  }

  private dir(domainUuid?: string) {
    const root = vscode.Uri.joinPath(this.context.globalStorageUri, 'history');
    if (domainUuid === undefined) return root;
    if (!isUuid(domainUuid))
      throw new Error(vscode.l10n.t('not a domain UUID: {0}', JSON.stringify(String(domainUuid).slice(0, 80))));
    return vscode.Uri.joinPath(root, domainUuid);
  }

  private file(domainUuid: string, id: string): vscode.Uri {
    const dir = this.dir(domainUuid); // refuses what is not a domain UUID
    if (!isRunId(id, domainUuid))
      throw new Error(
        vscode.l10n.t('not a run id of domain {0}: {1}', domainUuid, JSON.stringify(String(id).slice(0, 80))),
      );
    const uri = vscode.Uri.joinPath(dir, `${id}.json`);
    const inside = relative(this.dir().fsPath, uri.fsPath);
    if (inside.startsWith('..') || inside.includes('/..'))
      throw new Error(vscode.l10n.t("{0} is outside Ferry's history folder", uri.fsPath));
    return uri;
  }

  private async read(uri: vscode.Uri): Promise<MigrationRecord | undefined> {
    try {
      return JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri))) as MigrationRecord;
    } catch {
      return undefined;
    }
  }

  /** A domain's finished runs, oldest first, with the file each is stored in. */
  private async stored(domainUuid: string): Promise<{ run: MigrationRecord; uri: vscode.Uri }[]> {
    let entries: [string, vscode.FileType][] = [];
    try {
      entries = await vscode.workspace.fs.readDirectory(this.dir(domainUuid));
    } catch {
      return [];
    }
    const files = entries
      .filter(([n]) => isRunId(n.replace(/\.json$/, ''), domainUuid) && n.endsWith('.json'))
      .map(([n]) => this.file(domainUuid, n.slice(0, -5)));
    const runs = await Promise.all(files.map(async (uri) => ({ run: await this.read(uri), uri })));
    return runs
      .filter((r): r is { run: MigrationRecord; uri: vscode.Uri } => !!r.run)
      .sort((a, b) => a.run.startedAt - b.run.startedAt);
  }

  async history(domainUuid: string): Promise<MigrationRecord[]> {
    return (await this.stored(domainUuid)).map((s) => s.run);
  }

  /** Every stored run of every domain, newest first. */
  async allRuns(): Promise<MigrationRecord[]> {
    let domains: [string, vscode.FileType][] = [];
    try {
      domains = await vscode.workspace.fs.readDirectory(this.dir());
    } catch {
      return [];
    }
    const runs = (
      await Promise.all(
        domains
          .filter(([name, t]) => t === vscode.FileType.Directory && isUuid(name))
          .map(([uuid]) => this.history(uuid)),
      )
    ).flat();
    return runs.sort((a, b) => b.startedAt - a.startedAt);
  }

  async run(domainUuid: string, id: string): Promise<MigrationRecord | undefined> {
    if (!isUuid(domainUuid) || !isRunId(id, domainUuid)) return undefined;
    return this.read(this.file(domainUuid, id));
  }

  async addToHistory(record: MigrationRecord): Promise<void> {
    const uri = this.file(record.domainUuid, record.id);
    await mkdir(this.dir(record.domainUuid).fsPath, { recursive: true, mode: 0o700 });
    await writeFile(uri.fsPath, JSON.stringify(record), { mode: 0o600 });
    // the oldest beyond the limit go, by the name of their file (never by a path read from a file's content)
    const stored = await this.stored(record.domainUuid);
    for (const old of stored.slice(0, Math.max(0, stored.length - HISTORY_PER_DOMAIN))) {
      await vscode.workspace.fs.delete(old.uri).then(undefined, () => undefined);
    }
  }

  async operationRun(domainUuid: string, operationId: string): Promise<MigrationRecord | undefined> {
    return (await this.history(domainUuid)).find((r) => r.operationId === operationId);
  }

  lastOptions(source: string, target: string): { profile: string; options: MigrationOptions } | undefined {
    return this.context.globalState.get(`ferry.migration.last:${source}→${target}`);
  }

  async rememberOptions(source: string, target: string, profile: string, options: MigrationOptions): Promise<void> {
    await this.context.globalState.update(`ferry.migration.last:${source}→${target}`, { profile, options });
  }
}
