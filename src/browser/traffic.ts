/**
 * The interface traffic view: the host device's rate in both directions over time, with the rate the kernel
 * enforces drawn as a line, and the shaping class's sent/dropped/overlimit counters, so a user sees the limit work.
 */
import uPlot from 'uplot';
import { isTrafficSample } from '../core/traffic';
import { TrafficIds } from './dom';
import type { ToTrafficView, TrafficSample, TrafficState } from './protocol';

declare function acquireVsCodeApi(): {
  postMessage(m: { type: 'ready' }): void;
  setState(s: TrafficState): void;
  getState(): Partial<TrafficState> | undefined;
};
const vscode = acquireVsCodeApi();
const $ = (key: keyof typeof TrafficIds) => document.getElementById(TrafficIds[key])!;
const css = (name: string, fallback: string) =>
  getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
/** the chart's (and the saved state's) span, ms */
const KEEP_MS = 120_000;
/** readings further apart than this (the panel hidden, the window reloaded) are not joined by a line */
const GAP_MS = 2_000;
/** the saved state is written at most this often */
const SAVE_EVERY_MS = 1_000;

const columns: (number | null)[][] = [[], [], [], [], []];
let plot: uPlot | undefined;
let last: TrafficSample | undefined;
const samples: TrafficSample[] = [];
let watched: TrafficState['watched'] | undefined;
let savedAt = 0;

function build() {
  plot?.destroy();
  const box = $('chart');
  const fg = css('--vscode-foreground', '#ccc');
  const grid = css('--vscode-editorWidget-border', 'rgba(128,128,128,0.3)');
  const axis = (scale: string, label: string): uPlot.Axis => ({
    scale,
    label,
    stroke: fg,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid },
  });
  plot = new uPlot(
    {
      width: Math.max(300, box.clientWidth),
      height: 280,
      scales: { x: { time: true }, mbps: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] } },
      axes: [axis('x', "the host's time"), axis('mbps', 'Mbit/s')],
      series: [
        {},
        { label: 'into the guest', scale: 'mbps', stroke: css('--vscode-charts-blue', '#3794ff'), width: 2 },
        { label: 'out of the guest', scale: 'mbps', stroke: css('--vscode-charts-green', '#388a34'), width: 2 },
        {
          label: 'shaped at (kernel)',
          scale: 'mbps',
          stroke: css('--vscode-charts-orange', '#d18616'),
          width: 1.5,
          dash: [8, 4],
        },
        {
          label: 'policed at (kernel)',
          scale: 'mbps',
          stroke: css('--vscode-charts-purple', '#a070d0'),
          width: 1.5,
          dash: [3, 3],
        },
      ],
      legend: { live: true },
    },
    columns as uPlot.AlignedData,
    box,
  );
}

/** a point of the chart; after a gap, a point of nothing first, so the line breaks there */
function plotPoint(s: TrafficSample, before: TrafficSample | undefined) {
  if (before && s.t - before.t > GAP_MS)
    [(before.t + s.t) / 2000, null, null, null, null].forEach((v, i) => columns[i].push(v));
  [s.t / 1000, s.intoGuestMbps, s.outOfGuestMbps, s.shapedMbps ?? null, s.policedMbps ?? null].forEach((v, i) =>
    columns[i].push(v),
  );
}

function render(s: TrafficSample) {
  plotPoint(s, samples.at(-1));
  samples.push(s);
  const from = s.t - KEEP_MS;
  while (samples.length && samples[0].t < from) samples.shift();
  while (columns[0].length && (columns[0][0] ?? 0) * 1000 < from) for (const c of columns) c.shift();
  plot?.setData(columns as uPlot.AlignedData);
  if (watched && s.t - savedAt >= SAVE_EVERY_MS) {
    vscode.setState({ watched, samples });
    savedAt = s.t;
  }
  // the pointer off the chart: the legend shows the latest reading, not "--"
  if (plot && plot.cursor.idx == null) plot.setLegend({ idx: columns[0].length - 1 }, false);
  const mbps = (n: number) => `${n.toFixed(2)} Mbit/s`;
  $('intoGuest').textContent = mbps(s.intoGuestMbps);
  $('outOfGuest').textContent = mbps(s.outOfGuestMbps);
  $('shaped').textContent = s.shapedMbps !== undefined ? mbps(s.shapedMbps) : 'not shaped';
  const per = (now?: number, before?: number) =>
    now === undefined
      ? '—'
      : `${now.toLocaleString('en-US')}${before !== undefined ? ` (+${(now - before).toLocaleString('en-US')})` : ''}`;
  $('counters').textContent =
    s.sentBytes === undefined
      ? 'no shaping class on the device'
      : `sent ${per(s.sentBytes, last?.sentBytes)} bytes · dropped ${per(s.dropped, last?.dropped)} · overlimits ${per(s.overlimits, last?.overlimits)}`;
  $('chart').dataset.points = String(columns[0].length);
  last = s;
}

window.addEventListener('message', (e: MessageEvent<ToTrafficView>) => {
  const m = e.data;
  if (m.type === 'init') {
    watched = m.watched;
    $('title').textContent = m.title;
    $('limits').textContent = m.limits;
    $('problems').replaceChildren(
      ...m.problems.map((p) => Object.assign(document.createElement('li'), { textContent: p })),
    );
  } else if (m.type === 'sample') {
    $('error').textContent = '';
    render(m.sample);
  } else $('error').textContent = m.message;
});
new ResizeObserver(() => plot?.setSize({ width: Math.max(300, $('chart').clientWidth), height: 280 })).observe(
  $('chart'),
);
// theme switch: body classes change; redraw with the new colours
new MutationObserver(() => plot && build()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
// a restored panel (window reload): its last two minutes, as saved
const saved = vscode.getState();
if (Array.isArray(saved?.samples)) {
  for (const s of saved.samples.filter(isTrafficSample)) {
    plotPoint(s, samples.at(-1));
    samples.push(s);
  }
  $('chart').dataset.restored = String(samples.length);
}
$('chart').dataset.points = String(columns[0].length);
build();
vscode.postMessage({ type: 'ready' });
