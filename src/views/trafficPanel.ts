/**
 * "Show Interface Traffic": a panel per interface that streams the host device's readings (tc's class and policer,
 * the device's byte counters) four times a second over one channel while it is visible, and charts the rates on
 * the host's clock against the rate the kernel enforces. Nothing is read while the panel is hidden; its two minutes
 * of history live in the webview's state, so a window reload restores the panel with them.
 */
import * as vscode from 'vscode';
import { assertMac, describeLimits } from '../core/qos';
import { DisposableStore } from '../core/disposables';
import { isUuid } from '../core/domain';
import { TRAFFIC_INTERVAL_MS, type TrafficReading, trafficSample } from '../core/traffic';
import { streamTraffic, type TrafficStream } from '../services/traffic';
import type { FerryContext } from '../vscode/context';
import { webviewHtml } from '../vscode/webviewHtml';
import { TrafficIds as id } from '../browser/dom';
import type { ToTrafficView, TrafficState } from '../browser/protocol';
import type { InterfaceNode } from './nodes';

export const TRAFFIC_VIEW_TYPE = 'ferry.interfaceTraffic';
/** after a stream ends or cannot start, the next try */
const RETRY_MS = 1000;

/** which interface a panel watches: all a restored panel knows of it */
interface Watched {
  alias: string;
  domainUuid: string;
  mac: string;
}

/** what the stream needs, and what the panel says of it */
interface Target {
  device: string;
  title: string;
  limits: string;
  problems: string[];
}

function isWatched(x: Partial<Watched> | undefined): x is Watched {
  if (typeof x?.alias !== 'string' || !isUuid(x.domainUuid) || typeof x.mac !== 'string') return false;
  try {
    assertMac(x.mac);
    return true;
  } catch {
    return false;
  }
}

export class TrafficPanels implements vscode.Disposable {
  private readonly open = new Map<string, vscode.WebviewPanel>();
  private readonly serializer: vscode.Disposable;

  constructor(
    private readonly ctx: FerryContext,
    private readonly extensionUri: vscode.Uri,
  ) {
    this.serializer = vscode.window.registerWebviewPanelSerializer(TRAFFIC_VIEW_TYPE, {
      // the state comes back from the webview: only a configured host, a UUID and a MAC name what it watched
      deserializeWebviewPanel: async (panel, state: TrafficState | undefined) => {
        const watched = state?.watched;
        if (!isWatched(watched) || !this.ctx.registry.get(watched.alias) || this.open.has(keyOf(watched)))
          return panel.dispose();
        panel.webview.options = this.options();
        this.attach(panel, watched);
      },
    });
  }

  show(node: InterfaceNode): void {
    const device = node.iface.device;
    if (node.domain.state !== 'running' || !device)
      throw new Error(
        vscode.l10n.t('{0} is not running: {1} has no host device to watch.', node.domain.name, node.iface.mac),
      );
    const watched = { alias: node.alias, domainUuid: node.domain.uuid, mac: node.iface.mac };
    const existing = this.open.get(keyOf(watched));
    if (existing) return existing.reveal();
    const panel = vscode.window.createWebviewPanel(
      TRAFFIC_VIEW_TYPE,
      vscode.l10n.t('Traffic: {0} {1}', node.domain.name, device),
      vscode.ViewColumn.Active,
      this.options(),
    );
    this.attach(panel, watched, this.targetOf(node));
  }

  private options(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      // kept while hidden, so the chart's history survives a tab switch (nothing is read meanwhile)
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview')],
    };
  }

  private targetOf(node: InterfaceNode): Target {
    const device = node.iface.device ?? '';
    return {
      device,
      title: vscode.l10n.t('{0} · {1} · {2} on {3}', node.domain.name, node.iface.mac, device, node.alias),
      limits: vscode.l10n.t('Limits libvirt stores: {0}', describeLimits(node.iface.bandwidth, this.ctx.qosRateUnit())),
      problems: node.iface.kernelProblems,
    };
  }

  /** the interface as the host has it now (a restored panel, or a stream started again: the device may be new) */
  private async find(w: Watched): Promise<Target> {
    const host = this.ctx.registry.get(w.alias);
    if (!host) throw new Error(vscode.l10n.t('{0} is no longer a configured host.', w.alias));
    if (host.connection.state.kind !== 'connected') throw new Error(vscode.l10n.t('{0} is not connected.', w.alias));
    const domain = host.findDomain(w.domainUuid);
    if (!domain) throw new Error(vscode.l10n.t('{0} has no domain {1} any more.', w.alias, w.domainUuid));
    const iface = (await this.ctx.qos.interfaces(host.connection, w.domainUuid, domain.state === 'running')).find(
      (i) => i.mac === w.mac,
    );
    if (!iface) throw new Error(vscode.l10n.t('{0} has no interface {1} any more.', domain.name, w.mac));
    const node: InterfaceNode = { kind: 'interface', alias: w.alias, domain, iface };
    if (domain.state !== 'running' || !iface.device)
      throw new Error(vscode.l10n.t('{0} is not running: {1} has no host device to watch.', domain.name, w.mac));
    return this.targetOf(node);
  }

  private attach(panel: vscode.WebviewPanel, watched: Watched, known?: Target): void {
    const key = keyOf(watched);
    this.open.set(key, panel);
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'ferry.svg');
    panel.webview.html = this.html(panel.webview);
    const store = new DisposableStore();
    let ready = false;
    let stream: TrafficStream | undefined;
    let starting = false;
    let retry: NodeJS.Timeout | undefined;
    let target = known;
    const post = (m: ToTrafficView) => void panel.webview.postMessage(m);
    const stop = () => {
      clearTimeout(retry);
      retry = undefined;
      stream?.close();
      stream = undefined;
    };
    const start = async () => {
      if (store.isDisposed || !ready || !panel.visible || stream || starting) return;
      starting = true;
      let previous: TrafficReading | undefined;
      try {
        // the first stream of a panel opened from the tree uses what the tree read; any later one asks the host
        target = target ?? (await this.find(watched));
        const host = this.ctx.registry.get(watched.alias);
        if (!host) throw new Error(vscode.l10n.t('{0} is no longer a configured host.', watched.alias));
        post({ type: 'init', watched, title: target.title, limits: target.limits, problems: target.problems });
        const opened = await streamTraffic(host.connection, target.device, TRAFFIC_INTERVAL_MS, (reading) => {
          if (previous) post({ type: 'sample', sample: trafficSample(previous, reading) });
          previous = reading;
        });
        if (store.isDisposed || !panel.visible) return opened.close();
        stream = opened;
        void opened.ended.then((why) => {
          if (stream !== opened) return;
          stream = undefined;
          target = undefined;
          const said = why ?? vscode.l10n.t('The traffic stream ended.');
          this.ctx.log.warn(said);
          post({ type: 'error', message: vscode.l10n.t('{0} (trying again every second)', said) });
          retry = setTimeout(() => void start(), RETRY_MS);
        });
      } catch (e) {
        target = undefined;
        post({ type: 'error', message: vscode.l10n.t('{0} (trying again every second)', (e as Error).message) });
        if (!store.isDisposed) retry = setTimeout(() => void start(), RETRY_MS);
      } finally {
        starting = false;
      }
    };
    store.add(
      panel.webview.onDidReceiveMessage((m: { type: string }) => {
        if (m.type !== 'ready') return;
        ready = true;
        void start();
      }),
    );
    // hidden: the stream ends (nothing is read); shown again: a new one, its first reading a new start of rates
    store.add(panel.onDidChangeViewState(() => (panel.visible ? void start() : stop())));
    panel.onDidDispose(() => {
      stop();
      store.dispose();
      this.open.delete(key);
    });
  }

  private html(webview: vscode.Webview): string {
    const asset = (f: string) =>
      webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', f)).toString();
    const fact = (label: string, factId: string) => `<div><dt>${label}</dt><dd id="${factId}">—</dd></div>`;
    return webviewHtml(webview, {
      title: vscode.l10n.t('Interface traffic'),
      styles: [asset('uplot.css'), asset('monitor.css')],
      script: asset('traffic.js'),
      body: `<header><h1 id="${id.title}">${vscode.l10n.t('Interface traffic')}</h1></header>
<p id="${id.limits}"></p>
<ul id="${id.problems}" class="problems"></ul>
<div id="${id.error}" role="alert"></div>
<dl class="facts">
  ${fact(vscode.l10n.t('Into the guest'), id.intoGuest)}${fact(vscode.l10n.t('Out of the guest'), id.outOfGuest)}${fact(vscode.l10n.t('Shaped by the kernel at'), id.shaped)}
</dl>
<div id="${id.chart}" role="img" aria-label="${vscode.l10n.t('rates into and out of the guest with the enforced rate')}"></div>
<p id="${id.counters}" class="counters"></p>`,
    });
  }

  dispose(): void {
    this.serializer.dispose();
    for (const panel of [...this.open.values()]) panel.dispose();
  }
}

const keyOf = (w: Watched) => `${w.alias}:${w.domainUuid}:${w.mac}`;
