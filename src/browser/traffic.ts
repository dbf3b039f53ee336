/**
 * The interface traffic view: the host device's rate in both directions over time, with the rate the kernel
 * enforces drawn as a line, and the shaping class's sent/dropped/overlimit counters, so a user sees the limit work.
 */
import uPlot from 'uplot';
import { TrafficIds } from './dom';
import type { ToTrafficView, TrafficSample } from './protocol';

declare function acquireVsCodeApi(): { postMessage(m: { type: 'ready' }): void };
const vscode = acquireVsCodeApi();
const $ = (key: keyof typeof TrafficIds) => document.getElementById(TrafficIds[key])!;
const css = (name: string, fallback: string) =>
  getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
/** two minutes at one reading a second */
const KEEP = 120;

const columns: (number | null)[][] = [[], [], [], [], []];
let plot: uPlot | undefined;
let last: TrafficSample | undefined;

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
      scales: { x: { time: false }, mbps: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] } },
      axes: [axis('x', 'seconds'), axis('mbps', 'Mbit/s')],
      series: [
        { label: 'time', value: (_u, v) => (v == null ? '--' : `${v.toFixed(0)} s`) },
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

function render(s: TrafficSample) {
  const values = [s.t / 1000, s.intoGuestMbps, s.outOfGuestMbps, s.shapedMbps ?? null, s.policedMbps ?? null];
  values.forEach((v, i) => columns[i].push(v));
  if (columns[0].length > KEEP) for (const c of columns) c.shift();
  plot?.setData(columns as uPlot.AlignedData);
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
    $('title').textContent = m.title;
    $('limits').textContent = m.limits;
    $('problems').replaceChildren(
      ...m.problems.map((p) => Object.assign(document.createElement('li'), { textContent: p })),
    );
    for (const c of columns) c.length = 0;
    last = undefined;
    build();
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
vscode.postMessage({ type: 'ready' });
