/**
 * "Show Interface Traffic": a panel per interface that reads the host device once a second while it is visible
 * (tc's class and policer, the device's byte counters; one SSH exec per reading) and charts the rates against the
 * rate the kernel enforces. Nothing is read while the panel is hidden.
 */
import * as vscode from 'vscode';
import { describeLimits, type KernelQos } from '../core/qos';
import { DisposableStore } from '../core/disposables';
import type { FerryContext } from '../vscode/context';
import { webviewHtml } from '../vscode/webviewHtml';
import { TrafficIds as id } from '../browser/dom';
import type { ToTrafficView } from '../browser/protocol';
import type { InterfaceNode } from './nodes';

export const TRAFFIC_VIEW_TYPE = 'ferry.interfaceTraffic';
const READ_EVERY_MS = 1000;

export class TrafficPanels implements vscode.Disposable {
  private readonly open = new Map<string, vscode.WebviewPanel>();

  constructor(
    private readonly ctx: FerryContext,
    private readonly extensionUri: vscode.Uri,
  ) {}

  show(node: InterfaceNode): void {
    const device = node.iface.device;
    if (node.domain.state !== 'running' || !device)
      throw new Error(
        vscode.l10n.t('{0} is not running: {1} has no host device to watch.', node.domain.name, node.iface.mac),
      );
    const key = `${node.alias}:${node.domain.uuid}:${node.iface.mac}`;
    const existing = this.open.get(key);
    if (existing) return existing.reveal();
    const panel = vscode.window.createWebviewPanel(
      TRAFFIC_VIEW_TYPE,
      vscode.l10n.t('Traffic: {0} {1}', node.domain.name, device),
      vscode.ViewColumn.Active,
      {
        enableScripts: true,
        // kept while hidden, so the chart's history survives a tab switch (nothing is read meanwhile)
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview')],
      },
    );
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'ferry.svg');
    this.open.set(key, panel);
    panel.webview.html = this.html(panel.webview);
    const store = new DisposableStore();
    let timer: NodeJS.Timeout | undefined;
    let previous: { at: number; kernel: KernelQos } | undefined;
    const startedAt = Date.now();
    const post = (m: ToTrafficView) => void panel.webview.postMessage(m);
    const read = async () => {
      timer = undefined;
      if (store.isDisposed) return;
      if (panel.visible) {
        try {
          const host = this.ctx.registry.get(node.alias);
          if (!host) throw new Error(vscode.l10n.t('{0} is no longer a configured host.', node.alias));
          const kernel = await this.ctx.qos.kernel(host.connection, device);
          const at = Date.now();
          if (previous && !store.isDisposed)
            post({ type: 'sample', sample: sampleOf(previous, { at, kernel }, at - startedAt) });
          previous = { at, kernel };
        } catch (e) {
          post({ type: 'error', message: vscode.l10n.t('{0} (still trying every second)', (e as Error).message) });
        }
      } else previous = undefined; // a gap while hidden: the next reading starts a new rate
      if (!store.isDisposed) timer = setTimeout(() => void read(), READ_EVERY_MS);
    };
    store.add(
      panel.webview.onDidReceiveMessage((m: { type: string }) => {
        if (m.type !== 'ready') return;
        const limits = describeLimits(node.iface.bandwidth, this.ctx.qosRateUnit());
        post({
          type: 'init',
          title: vscode.l10n.t('{0} · {1} · {2} on {3}', node.domain.name, node.iface.mac, device, node.alias),
          limits: vscode.l10n.t('Limits libvirt stores: {0}', limits),
          problems: node.iface.kernelProblems,
        });
        previous = undefined;
        if (!timer) void read();
      }),
    );
    panel.onDidDispose(() => {
      clearTimeout(timer);
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
    for (const panel of [...this.open.values()]) panel.dispose();
  }
}

/** Two readings a moment apart as rates; the kernel's enforced rates and the class counters of the second. */
function sampleOf(before: { at: number; kernel: KernelQos }, now: { at: number; kernel: KernelQos }, t: number) {
  const seconds = Math.max(0.001, (now.at - before.at) / 1000);
  const rate = (a?: number, b?: number) =>
    a !== undefined && b !== undefined ? Math.max(0, ((b - a) * 8) / seconds / 1e6) : 0;
  const k = now.kernel;
  return {
    t,
    intoGuestMbps: rate(before.kernel.txBytes, k.txBytes),
    outOfGuestMbps: rate(before.kernel.rxBytes, k.rxBytes),
    shapedMbps: k.htb && k.htb.rateBits / 1e6,
    policedMbps: k.police && k.police.rateBits / 1e6,
    sentBytes: k.htb?.sentBytes,
    dropped: k.htb?.dropped,
    overlimits: k.htb?.overlimits,
  };
}
