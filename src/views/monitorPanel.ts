/**
 * Migration monitor panels: one webview per run (live or from history), optionally with a second run overlaid.
 * A panel gets data only while visible: on becoming visible it is sent the whole run, then each new sample as it
 * arrives. Panels come back after a window reload through the serializer (the webview keeps run id and domain).
 */
import { isPodUri } from '../core/kubevirt';
import * as vscode from 'vscode';
import type { MigrationOptions } from '../core/migration/job';
import { describeOptions } from '../core/migration/job';
import { DisposableStore } from '../core/disposables';
import { inert } from '../core/text';
import { summaryOf } from '../core/migration/header';
import type { MigrationRecord } from '../core/migration/record';
import { joinParts, route, shifted } from '../core/migration/record';
import { isUuid } from '../core/domain';
import { isRunId, MAX_RUN_FILE_BYTES, parseRunFile } from '../core/migration/runFile';
import { windowInput } from '../vscode/windowInput';
import { Commands } from '../vscode/contributions';
import type { FerryContext } from '../vscode/context';
import type { FromWebview, MonitorAction, MonitorState, RunHeader, RunView, ToWebview } from '../browser/protocol';
import { ACTION_BUTTONS, MonitorIds as id } from '../browser/dom';
import { notify } from '../vscode/notify';
import { webviewHtml } from '../vscode/webviewHtml';
import { UserCancelled } from '../vscode/userInput';

export const MONITOR_VIEW_TYPE = 'ferry.migrationMonitor';

/** Every setting and version of a run, by name: what the A/B table compares. */
function runSettings(r: MigrationRecord): Record<string, string> {
  const o: Partial<MigrationOptions> = r.options ?? {};
  const settings: Record<string, string> = {
    [vscode.l10n.t('options')]: r.options
      ? describeOptions(r.options)
      : vscode.l10n.t('unknown (not started by Ferry)'),
    [vscode.l10n.t('parallel connections')]: String(o.parallelConnections ?? '?'),
    [vscode.l10n.t('zero-copy')]: String(o.zeroCopy ?? '?'),
    [vscode.l10n.t('compression')]: String(o.compression ?? '?'),
    [vscode.l10n.t('postcopy')]: String(o.postcopy ?? '?'),
    [vscode.l10n.t('bandwidth cap')]:
      o.bandwidthMiBps !== undefined
        ? vscode.l10n.t('{0} MiB/s', o.bandwidthMiBps)
        : r.options
          ? vscode.l10n.t('none')
          : '?',
    [vscode.l10n.t('max downtime')]:
      o.maxDowntimeMs !== undefined
        ? vscode.l10n.t('{0} ms', o.maxDowntimeMs)
        : r.options
          ? vscode.l10n.t('default')
          : '?',
    [vscode.l10n.t('auto-converge')]: String(o.autoConverge ?? '?'),
    [vscode.l10n.t('TLS')]: String(o.tls ?? '?'),
    [vscode.l10n.t('keep TCP connections')]: String(o.keepTcpConnections ?? false),
  };
  for (const [libvirt, qemu, versions] of [
    [vscode.l10n.t('source libvirt'), vscode.l10n.t('source QEMU'), r.sourceVersions],
    [vscode.l10n.t('target libvirt'), vscode.l10n.t('target QEMU'), r.targetVersions],
  ] as const) {
    if (!versions) continue;
    settings[libvirt] = versions.libvirt ?? '?';
    settings[qemu] = versions.hypervisor ?? '?';
  }
  if (r.linkMbps) settings[vscode.l10n.t('link speed')] = vscode.l10n.t('{0} Mbit/s', r.linkMbps);
  return settings;
}

function toHeader(r: MigrationRecord): RunHeader {
  return {
    phase: r.phase,
    finishedAt: r.finishedAt,
    linkMbps: r.linkMbps,
    summary: summaryOf(r),
    parts: r.parts,
    extraPauseMs: r.gate?.extraPauseMs,
    error: r.error,
    findings: r.findings,
  };
}

function toRunView(r: MigrationRecord): RunView {
  return {
    id: r.id,
    domainUuid: r.domainUuid,
    domainName: r.domainName,
    source: r.source,
    target: r.target,
    discovered: !!r.discovered,
    imported: !!r.imported,
    kubevirt: !!r.sourceUri && isPodUri(r.sourceUri),
    startedAt: r.startedAt,
    settings: runSettings(r),
    autoConverge: !!r.options?.autoConverge,
    maxDowntimeMs: r.options?.maxDowntimeMs,
    samples: r.samples,
    markers: r.markers ?? [],
    route: route(r),
    step: r.operationStep,
    ...toHeader(r),
  };
}

/** Samples as CSV, one row each, units in the header. */
function samplesCsv(r: MigrationRecord): string {
  const rows = r.samples.map((s) =>
    [
      s.t,
      s.bps,
      s.dirtyBps,
      s.remaining,
      s.processed,
      s.total,
      s.iteration,
      s.expectedDowntimeMs ?? '',
      s.throttle ?? '',
    ].join(','),
  );
  return (
    [
      't_ms,throughput_Bps,dirty_Bps,remaining_B,processed_B,total_B,iteration,expected_downtime_ms,throttle_pct',
      ...rows,
    ].join('\n') + '\n'
  );
}

/**
 * A tab's title says which run it shows: "tiny1 hostA→hostB 21:40:12", "tiny1 hostA→hostB→hostA 21:40:12" for a
 * joined run (the domain only once, for the second of a pair).
 */
function runTitle(
  r: { domainName: string; source?: string; target?: string; startedAt?: number; parts?: MigrationRecord['parts'] },
  withName = true,
): string {
  if (r.source === undefined || r.target === undefined || r.startedAt === undefined)
    return vscode.l10n.t('Migration: {0}', r.domainName);
  const at = new Date(r.startedAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return `${withName ? `${r.domainName} ` : ''}${route({ source: r.source, target: r.target, parts: r.parts }).join('→')} ${at}`;
}

interface Entry {
  panel: vscode.WebviewPanel;
  runId: string;
  domainUuid: string;
  compareId?: string;
  /** the run as last loaded (finished runs come from history) */
  record?: MigrationRecord;
  compare?: MigrationRecord;
  /** the webview holds the whole run (sent since its content last loaded): from then on it gets only what is new */
  initialised: boolean;
  /** the header last sent, as JSON */
  header?: string;
  /** how many of the run's markers the webview has */
  markersSent: number;
  /**
   * a later migration of the run's operation, live: the panel shows the stored run joined with it, and its samples
   * and markers arrive shifted by offsetMs (the time since the run began)
   */
  part?: { id: string; earlier: MigrationRecord; offsetMs: number; markersSent: number };
}

export class MonitorPanels implements vscode.Disposable {
  private readonly entries = new Set<Entry>();
  private readonly disposables = new DisposableStore();

  constructor(
    private readonly ctx: FerryContext,
    private readonly extensionUri: vscode.Uri,
  ) {
    for (const d of [
      ctx.migrations.onDidSample(({ record, sample }) => {
        for (const e of this.following(record)) {
          const by = e.part?.offsetMs ?? 0;
          this.post(e, {
            type: 'append',
            id: e.runId,
            samples: shifted([sample], by),
            markers: this.newMarkers(e, record),
          });
        }
      }),
      // progress reaches a panel as samples; the header goes alone, when a field of it changes
      ctx.migrations.onDidChange((record) => {
        for (const e of this.following(record)) {
          e.record = e.part ? joinParts(e.part.earlier, record) : record;
          const header = toHeader(e.record);
          const json = JSON.stringify(header);
          if (e.header === json) continue;
          e.header = json;
          this.post(e, { type: 'header', id: e.runId, header, markers: this.newMarkers(e, record) });
        }
      }),
      vscode.window.registerWebviewPanelSerializer(MONITOR_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: MonitorState | undefined) => {
          // the saved state comes back from the webview: only ids of Ferry's own form name a run
          if (
            !isUuid(state?.domainUuid) ||
            !isRunId(state.runId, state.domainUuid) ||
            (state.compareId !== undefined && !isRunId(state.compareId))
          ) {
            panel.dispose();
            return;
          }
          this.attach(panel, state.runId, state.domainUuid, state.compareId);
        },
      }),
    ])
      this.disposables.add(d);
  }

  /**
   * Open (or reveal) the panel of a run; with compareId, the A/B overlay of the two. preserveFocus when Ferry opens it
   * by itself (a migration starting), so it does not take the keyboard from whatever the user is doing.
   */
  open(
    record: {
      id: string;
      domainUuid: string;
      domainName: string;
      source?: string;
      target?: string;
      startedAt?: number;
      operationId?: string;
    },
    { compareId, preserveFocus = false }: { compareId?: string; preserveFocus?: boolean } = {},
  ): void {
    const existing = [...this.entries].find(
      (e) => (e.runId === record.id || e.part?.id === record.id) && e.compareId === compareId,
    );
    if (existing) return existing.panel.reveal(undefined, preserveFocus);
    const op = record.operationId;
    const earlier =
      op &&
      !compareId &&
      [...this.entries].find((e) => !e.compareId && e.record?.operationId === op && e.domainUuid === record.domainUuid);
    if (earlier) {
      earlier.part = undefined; // found again by load(): the stored run and this live migration
      void this.refresh(earlier);
      return earlier.panel.reveal(undefined, preserveFocus);
    }
    const title = compareId ? vscode.l10n.t('Compare: {0}', record.domainName) : runTitle(record);
    const panel = vscode.window.createWebviewPanel(
      MONITOR_VIEW_TYPE,
      title,
      { viewColumn: vscode.ViewColumn.Active, preserveFocus },
      {
        enableScripts: true,
        localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview')],
      },
    );
    this.attach(panel, record.id, record.domainUuid, compareId);
  }

  private attach(panel: vscode.WebviewPanel, runId: string, domainUuid: string, compareId?: string) {
    const entry: Entry = { panel, runId, domainUuid, compareId, initialised: false, markersSent: 0 };
    this.entries.add(entry);
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'ferry.svg');
    panel.webview.html = this.html(panel.webview);
    const subs = [
      panel.webview.onDidReceiveMessage((m: FromWebview) => {
        if (m.type === 'ready') void this.refresh(entry);
        else if (m.type === 'action') void this.act(entry, m.action);
        else if (m.type === 'diagnose') void this.diagnose(entry, m.requestId);
      }),
      // a hidden panel's content is unloaded and gets nothing; shown again, it reloads and asks for the run ('ready')
      panel.onDidChangeViewState(() => void (panel.visible || (entry.initialised = false))),
    ];
    panel.onDidDispose(() => {
      this.entries.delete(entry);
      subs.forEach((s) => s.dispose());
    });
  }

  /**
   * The panel's run: live, or from history. A stored run of an operation whose next migration runs now (a
   * hot-upgrade's way back) is shown joined with it, and the panel follows that migration.
   */
  private async load(e: Entry): Promise<MigrationRecord | undefined> {
    const run = this.ctx.migrations.get(e.runId) ?? (await this.ctx.migrationStore.run(e.domainUuid, e.runId));
    const op = run?.operationId;
    const later =
      op &&
      this.ctx.migrations.running.find(
        (r) => r.operationId === op && r.id !== run.id && r.domainUuid === run.domainUuid,
      );
    if (!run || !later) {
      e.part = undefined;
      return run;
    }
    e.part = {
      id: later.id,
      earlier: run,
      offsetMs: Math.max(0, later.startedAt - run.startedAt),
      markersSent: later.markers.length,
    };
    return joinParts(run, later);
  }

  /** The live panels of a run that hold it whole, so new samples and header changes can be appended. */
  private following(record: MigrationRecord): Entry[] {
    const shows = (e: Entry) => (e.part ? e.part.id === record.id : e.runId === record.id);
    return [...this.entries].filter((e) => shows(e) && !e.compareId && e.initialised && e.panel.visible);
  }

  /** The record's markers the webview lacks (a later part's shifted onto the run's time axis). */
  private newMarkers(e: Entry, record: MigrationRecord) {
    if (e.part) {
      const markers = shifted(record.markers.slice(e.part.markersSent), e.part.offsetMs);
      e.part.markersSent = record.markers.length;
      return markers;
    }
    const markers = record.markers.slice(e.markersSent);
    e.markersSent = record.markers.length;
    return markers;
  }

  /** Send the whole run: when the panel's content has (re)loaded. */
  private async refresh(e: Entry) {
    e.initialised = false;
    e.record = await this.load(e);
    if (e.compareId)
      e.compare = e.compare ?? (await this.ctx.migrationStore.allRuns()).find((r) => r.id === e.compareId);
    // closed while its run was read: a disposed panel takes no title or page (VS Code throws)
    if (!this.entries.has(e)) return;
    if (e.record)
      e.panel.title = e.compare
        ? vscode.l10n.t('Compare: {0} ↔ {1}', runTitle(e.record), runTitle(e.compare, false))
        : runTitle(e.record);
    if (!e.record) {
      e.panel.webview.html = webviewHtml(e.panel.webview, {
        title: vscode.l10n.t('Migration monitor'),
        body: `<p>${vscode.l10n.t("This migration run is no longer in Ferry's history.")}</p>`,
      });
      return;
    }
    if (!e.panel.visible) return;
    const run = toRunView(e.record);
    e.header = JSON.stringify(toHeader(e.record));
    e.markersSent = run.markers.length;
    e.initialised = true;
    this.post(e, { type: 'init', run, compare: e.compare && toRunView(e.compare) });
  }

  private post(e: Entry, message: ToWebview) {
    void e.panel.webview.postMessage(message);
  }

  /** The run an action acts on: live if it runs now, else as last loaded. */
  private current(e: Entry): MigrationRecord | undefined {
    return (e.record && !e.part && this.ctx.migrations.get(e.record.id)) || e.record;
  }

  /** "Why is it slow?": every answer carries the request's id, so the webview never takes an old one for it. */
  private async diagnose(e: Entry, requestId: string) {
    const r = this.current(e);
    if (!r)
      return this.post(e, {
        type: 'diagnosisFailed',
        requestId,
        message: vscode.l10n.t("This run is no longer in Ferry's history."),
      });
    this.post(e, { type: 'diagnosing', requestId });
    try {
      // a joined run is diagnosed through its migration running now
      const d = await this.ctx.migrations.diagnose(e.part?.id ?? r.id);
      this.post(e, {
        type: 'findings',
        requestId,
        id: r.id,
        findings: d.findings,
        linkMbps: d.source?.link?.speedMbps,
      });
    } catch (err) {
      const message = (err as Error).message;
      this.ctx.log.error(`monitor: diagnosis: ${message}`);
      this.post(e, { type: 'diagnosisFailed', requestId, message });
    }
  }

  private async act(e: Entry, action: Exclude<MonitorAction, 'diagnose'>) {
    try {
      const r = this.current(e);
      if (!r) return;
      // a joined run is steered through its migration running now
      const liveId = e.part?.id ?? r.id;
      const node = { domain: { uuid: r.domainUuid, name: r.domainName } };
      const steering: MonitorAction[] = ['setBandwidth', 'setMaxDowntime', 'postcopy', 'abort'];
      // only the panel of a migration Ferry runs now steers, whatever an imported or restored run says it is
      if (
        steering.includes(action) &&
        (r.imported || e.compareId || this.ctx.migrations.get(liveId)?.domainUuid !== r.domainUuid)
      ) {
        throw new Error(
          r.imported
            ? vscode.l10n.t('This panel shows an imported run; it cannot steer a migration.')
            : vscode.l10n.t('This panel shows a finished run; it cannot steer a migration.'),
        );
      }
      switch (action) {
        // steering goes through the commands (views and commands do not import each other both ways); they
        // report their own errors
        case 'setBandwidth':
          return void (await vscode.commands.executeCommand(Commands.migrationSetBandwidth, node));
        case 'setMaxDowntime':
          return void (await vscode.commands.executeCommand(Commands.migrationSetMaxDowntime, node));
        case 'postcopy':
          return void (await vscode.commands.executeCommand(Commands.migrationPostcopy, node));
        case 'abort':
          return void (await vscode.commands.executeCommand(Commands.migrationAbort, node));
        case 'exportJson':
        case 'exportCsv': {
          const json = action === 'exportJson';
          const name = `ferry-${r.domainName.replace(/[^\w.-]+/g, '_')}-${new Date(r.startedAt).toISOString().replace(/[:.]/g, '-')}.${json ? 'json' : 'csv'}`;
          const uri = await vscode.window.showSaveDialog({
            defaultUri: vscode.Uri.joinPath(
              vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(process.env.HOME ?? '/'),
              name,
            ),
            filters: json ? { JSON: ['json'] } : { CSV: ['csv'] },
          });
          if (!uri) return;
          await vscode.workspace.fs.writeFile(
            uri,
            new TextEncoder().encode(json ? JSON.stringify(r, null, 1) : samplesCsv(r)),
          );
          return void notify('info', vscode.l10n.t("Exported {0}'s run to {1}.", r.domainName, uri.fsPath));
        }
        case 'compare':
          return await this.compareWith(r);
        case 'importRun': {
          const imported = await importRun(this.ctx);
          if (imported) this.open(r, { compareId: imported.id });
        }
      }
    } catch (err) {
      if (err instanceof UserCancelled) return;
      this.ctx.log.error(`monitor: ${(err as Error).message}`);
      void notify('error', (err as Error).message);
    }
  }

  /** Pick another stored run and open the overlay of the two. */
  async compareWith(r: { id: string; domainUuid: string; domainName: string }): Promise<void> {
    const runs = (await this.ctx.migrationStore.allRuns()).filter((x) => x.id !== r.id);
    if (!runs.length)
      throw new Error(
        vscode.l10n.t(
          "There is no other finished run to compare with yet. Run another migration, or import a colleague's run.",
        ),
      );
    const pick = await windowInput.pickOne(
      runs.map((x) => ({
        label: inert(`${x.domainName}: ${x.source} → ${x.target}`),
        description: `${new Date(x.startedAt).toLocaleString()} · ${x.phase}${x.imported ? ` · ${vscode.l10n.t('imported')}` : ''}`,
        detail: x.options ? describeOptions(x.options) : vscode.l10n.t('options unknown'),
        run: x,
      })),
      {
        title: vscode.l10n.t("Compare {0}'s run with…", r.domainName),
        matchOnDescription: true,
        matchOnDetail: true,
      },
    );
    if (!pick) throw new UserCancelled();
    this.open(r, { compareId: pick.run.id });
  }

  private html(webview: vscode.Webview): string {
    const asset = (f: string) =>
      webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', f)).toString();
    const button = (buttonId: string, icon: string, label: string, cls = 'secondary', liveOnly = false) =>
      `<button id="${buttonId}" class="${cls}${liveOnly ? ' live-only' : ''}" type="button"><span class="codicon codicon-${icon}" aria-hidden="true"></span>${label}</button>`;
    const actions = ACTION_BUTTONS.map((a, i) => {
      const separator = a.steers && !ACTION_BUTTONS[i + 1]?.steers ? '<span class="sep live-only"></span>' : '';
      return button(a.id, a.icon, a.label, a.primary ? 'primary' : 'secondary', a.steers || a.liveOnly) + separator;
    });
    const fact = (label: string, factId: string, initial = '—') =>
      `<div><dt>${label}</dt><dd id="${factId}">${initial}</dd></div>`;
    return webviewHtml(webview, {
      title: vscode.l10n.t('Migration monitor'),
      styles: [asset('codicon.css'), asset('uplot.css'), asset('monitor.css')],
      script: asset('monitor.js'),
      body: `<header><h1 id="${id.title}">${vscode.l10n.t('Migration')}</h1><span id="${id.phase}" class="badge" role="status"></span></header>
<dl class="facts live-only">
  ${fact(vscode.l10n.t('Elapsed'), id.elapsed)}${fact(vscode.l10n.t('ETA'), id.eta)}${fact(vscode.l10n.t('Progress'), id.percent, '0 %')}${fact(vscode.l10n.t('Downtime'), id.downtime)}
  ${fact(vscode.l10n.t('Throughput'), id.throughput)}${fact(vscode.l10n.t('Extra pause (keep TCP connections)'), id.extraPause)}
</dl>
<div id="${id.bar}" class="bar-track live-only" role="progressbar" aria-label="${vscode.l10n.t('migration progress')}" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><div id="${id.barFill}"></div></div>
<p id="${id.operation}" class="live-only" hidden></p>
<div id="${id.convergence}" role="alert" hidden></div>
<div id="${id.error}" role="alert"></div>
<div class="toolbar" role="toolbar" aria-label="${vscode.l10n.t('migration actions')}">
  ${actions.join('')}
</div>
<div class="toolbar" role="toolbar" aria-label="${vscode.l10n.t('chart')}">
  <label for="${id.unit}">${vscode.l10n.t('Rate unit')}</label><select id="${id.unit}"><option value="MiB">MiB/s</option><option value="Gbit">Gbit/s</option></select>
  ${button(id.panLeft, 'arrow-left', vscode.l10n.t('Earlier'))}${button(id.panRight, 'arrow-right', vscode.l10n.t('Later'))}${button(id.reset, 'zoom-out', vscode.l10n.t('Whole Run'))}
  ${button(id.table, 'list-flat', vscode.l10n.t('Samples Table'))}
  <span class="hint">${vscode.l10n.t('Drag to zoom, wheel to zoom, double-click or Escape for the whole run; ←/→ pan when the chart has focus.')}</span>
</div>
<div id="${id.chart}" tabindex="0" role="img" aria-label="${vscode.l10n.t('throughput, dirty rate, remaining and transferred memory over time')}"></div>
<table id="${id.samples}" hidden><caption id="${id.samplesCaption}"></caption>
<thead><tr><th scope="col">s</th><th scope="col">${vscode.l10n.t('throughput')}</th><th scope="col">${vscode.l10n.t('dirty rate')}</th><th scope="col">${vscode.l10n.t('remaining')}</th><th scope="col">${vscode.l10n.t('transferred')}</th><th scope="col">${vscode.l10n.t('iteration')}</th><th scope="col">${vscode.l10n.t('expected downtime')}</th></tr></thead>
<tbody id="${id.samplesBody}"></tbody></table>
<section id="${id.compare}" hidden><h2>${vscode.l10n.t('A/B comparison')}</h2><table><thead><tr><th scope="col"></th><th scope="col">${vscode.l10n.t('A (this run)')}</th><th scope="col">B</th><th scope="col">B/A</th></tr></thead><tbody id="${id.compareBody}"></tbody></table></section>
<section class="live-only"><h2>${vscode.l10n.t('Why is it slow?')}</h2><ul id="${id.findings}"><li>${vscode.l10n.t('Findings appear a few seconds into a migration, or with "Why Is It Slow?".')}</li></ul></section>`,
    });
  }

  dispose(): void {
    for (const e of [...this.entries]) e.panel.dispose();
    this.disposables.dispose();
  }
}

/** Read an exported run (a colleague's, say) into the history so it can be compared. */
export async function importRun(ctx: FerryContext): Promise<MigrationRecord | undefined> {
  const files = await vscode.window.showOpenDialog({
    canSelectMany: false,
    filters: { [vscode.l10n.t('Ferry run')]: ['json'] },
    title: vscode.l10n.t('Import a migration run'),
  });
  if (!files?.length) return undefined;
  const { size } = await vscode.workspace.fs.stat(files[0]);
  if (size > MAX_RUN_FILE_BYTES)
    throw new Error(
      vscode.l10n.t(
        '{0} is {1} MiB, larger than a run file can be ({2} MiB).',
        files[0].fsPath,
        (size / 1048576).toFixed(0),
        MAX_RUN_FILE_BYTES / 1048576,
      ),
    );
  let run: MigrationRecord;
  try {
    run = parseRunFile(new TextDecoder().decode(await vscode.workspace.fs.readFile(files[0])));
  } catch (e) {
    throw new Error(`${files[0].fsPath}: ${(e as Error).message}`);
  }
  if (ctx.migrations.get(run.id) || (await ctx.migrationStore.run(run.domainUuid, run.id))) {
    throw new Error(
      vscode.l10n.t(
        "{0} holds run {1}, which is already in Ferry's history; it was not imported again.",
        files[0].fsPath,
        run.id,
      ),
    );
  }
  await ctx.migrationStore.addToHistory(run);
  return run;
}
