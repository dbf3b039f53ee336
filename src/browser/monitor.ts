/**
 * The migration monitor webview: a header (state, elapsed, ETA, progress, expected downtime), the convergence
 * verdict with actions, a uPlot chart of throughput, dirty rate, remaining and transferred memory with the run's
 * events marked, a sample table for keyboard and screen-reader users, the "Why is it slow?" findings, and an A/B
 * overlay of two runs with a table of what differs. No inline script or style: the CSP allows neither.
 */
import uPlot from 'uplot';
import type { RateDisplayUnit } from '../core/migration/header';
import { headerTexts, MonitorHeader, rateText } from '../core/migration/header';
import { assess, thinned } from '../core/migration/monitor';
import type { Sample } from '../core/migration/monitor';
import type { Finding } from '../core/diagnosis';
import { MAX_SAMPLES } from '../core/migration/record';
import type { MigrationPhase } from '../core/migration/record';
import { ACTION_BUTTONS, MonitorIds } from './dom';
import type { FromWebview, MonitorAction, MonitorState, RunView, ToWebview } from './protocol';
import { LatestRequest } from './requests';

declare function acquireVsCodeApi(): {
  postMessage(m: FromWebview): void;
  setState(s: MonitorState): void;
  getState(): MonitorState | undefined;
};
const vscode = acquireVsCodeApi();

let run: RunView | undefined;
let compare: RunView | undefined;
let unit: RateDisplayUnit = 'MiB';
let plot: uPlot | undefined;
/** the header of `run` (of its latest leg, for a joined run), fed each sample once as it arrives */
let header: MonitorHeader | undefined;
/** the chart's columns for a single run, appended to with each sample (a comparison rebuilds its joined columns) */
let columns: (number | null)[][] = [];
/** the user zoomed or panned: new samples do not reset the view */
let zoomed = false;

const $ = (key: keyof typeof MonitorIds) => document.getElementById(MonitorIds[key])!;
const el = (tag: string, text?: string, cls?: string) => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};
const css = (name: string, fallback: string) =>
  getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
const MiB = 1048576;
const rate = (bps: number) => (unit === 'MiB' ? bps / MiB : (bps * 8) / 1e9);
const mibText = (b: number) => `${(b / MiB).toFixed(0)} MiB`;
const LIVE_PHASES: ReadonlySet<MigrationPhase> = new Set(['starting', 'running', 'postcopy', 'unknown']);
const running = (r: RunView) => LIVE_PHASES.has(r.phase);

/** "Why is it slow?" requests: only the answer to the latest one counts (ids unique across content reloads) */
const diagnosis = new LatestRequest(
  [...crypto.getRandomValues(new Uint32Array(2))].map((n) => n.toString(36)).join(''),
);

function post(action: MonitorAction) {
  if (action === 'diagnose') vscode.postMessage({ type: 'diagnose', requestId: diagnosis.begin() });
  else vscode.postMessage({ type: 'action', action });
}

/**
 * The header: the leg under way (the only one of a single migration) with its phase, progress and throughput from
 * its own samples, and for a joined run every leg's outcome and the totals (core/migration/header makes the words).
 */
function renderHeader() {
  if (!run || !header) return;
  const r = run;
  $('title').textContent = `${r.domainName}: ${r.route.join(' → ')}`;
  const f = header.figures(r);
  const t = headerTexts(f, unit);
  const badge = $('phase');
  const origin = r.kubevirt ? " (KubeVirt's: watched only)" : r.discovered ? ' (not started by Ferry)' : '';
  badge.textContent = t.phase + origin + (r.imported ? ' (imported)' : '');
  badge.className = `badge phase-${f.phase}`;
  $('elapsed').textContent = t.elapsed;
  $('eta').textContent = t.eta;
  $('percent').textContent = t.percent;
  const bar = $('bar');
  bar.setAttribute('aria-valuenow', String(f.percent));
  if (f.leg.label) bar.setAttribute('aria-label', `migration progress, ${f.leg.label}`);
  $('barFill').style.width = `${f.percent}%`;
  $('downtime').textContent = t.downtime;
  $('downtime').className = f.downtimeMs !== undefined && f.downtimeMs > f.maxDowntimeMs && f.live ? 'over' : '';
  $('throughput').textContent = t.throughput;
  $('extraPause').textContent = r.extraPauseMs !== undefined ? `${r.extraPauseMs} ms` : '—';
  const operation = $('operation');
  operation.textContent = t.operation;
  operation.hidden = !t.operation;
  // the banner's buttons are made once while it shows, only its reason is updated: rebuilt at every sample (up to 20 Hz)
  // a button is replaced between a press and its release, and the click is lost
  const banner = $('convergence');
  // KubeVirt's migrations are KubeVirt's to steer: the diagnosis says what to change there instead
  if (f.live && f.convergence.state === 'not-converging' && !r.kubevirt) {
    if (banner.hidden || !banner.childElementCount) {
      const actions = el('div', undefined, 'actions');
      for (const [action, label] of [
        ['setBandwidth', 'Raise Bandwidth…'],
        ['setMaxDowntime', 'Raise Max Downtime…'],
        ['postcopy', 'Switch to Postcopy'],
        ['abort', 'Abort'],
      ] as const) {
        const b = el('button', label) as HTMLButtonElement;
        if (action === 'abort') b.className = 'secondary';
        b.addEventListener('click', () => post(action));
        actions.append(b);
      }
      banner.replaceChildren(el('strong', 'Not converging: '), el('span', '', 'reason'), actions);
      banner.hidden = false;
    }
    const reason = banner.querySelector('.reason')!;
    if (reason.textContent !== `${f.convergence.reason}.`) reason.textContent = `${f.convergence.reason}.`;
  } else {
    banner.hidden = true;
    banner.replaceChildren();
  }
  $('error').textContent = r.error ?? '';
  for (const b of ACTION_BUTTONS)
    if (b.steers) {
      const button = document.getElementById(b.id) as HTMLButtonElement;
      button.disabled = !running(r) || r.imported;
      button.hidden = r.kubevirt;
    }
}

/** One sample as a single run's chart columns: time (s), throughput, dirty rate, remaining, transferred, throttle. */
const columnValues = (x: Sample) => [
  x.t / 1000,
  rate(x.bps),
  rate(x.dirtyBps),
  x.remaining / MiB,
  x.processed / MiB,
  x.throttle ?? null,
];

/**
 * Samples as chart columns. Where a joined run's next migration begins (a 'part' marker) the lines break: a point of
 * nulls there, so the chart does not draw the pause between the legs as a slope from the way there's last reading.
 */
function appendColumns(samples: readonly Sample[]) {
  const breaks = (run?.markers ?? []).filter((m) => m.kind === 'part').map((m) => m.t);
  for (const x of samples) {
    const lastS = columns[0]?.at(-1);
    for (const t of breaks)
      if (lastS != null && lastS * 1000 < t && t <= x.t) columns.forEach((c, i) => c.push(i === 0 ? t / 1000 : null));
    columnValues(x).forEach((v, i) => (columns[i] ??= []).push(v));
  }
}

function rebuildColumns() {
  columns = [];
  appendColumns(run?.samples ?? []);
}

/** uPlot data: x in seconds; a run in compare mode is drawn beside the first on the same x (time since start). */
function chartData(): uPlot.AlignedData {
  const r = run!;
  if (!compare) return (columns.length ? columns : [[], [], [], [], [], []]) as uPlot.AlignedData;
  // two runs: join on their own x values (uPlot needs one x array; gaps are null)
  const xs = [...new Set([...r.samples.map((x) => x.t), ...compare.samples.map((x) => x.t)])].sort((a, b) => a - b);
  const at = (samples: Sample[]) => {
    const byT = new Map(samples.map((x) => [x.t, x]));
    return xs.map((t) => byT.get(t));
  };
  const a = at(r.samples);
  const b = at(compare.samples);
  return [
    xs.map((t) => t / 1000),
    a.map((x) => (x ? rate(x.bps) : null)),
    b.map((x) => (x ? rate(x.bps) : null)),
    a.map((x) => (x ? x.remaining / MiB : null)),
    b.map((x) => (x ? x.remaining / MiB : null)),
  ];
}

/** Markers, iteration boundaries and the link-speed reference line, drawn over the plot. */
function overlayPlugin(): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u) => {
          if (!run) return;
          const ctx = u.ctx;
          const { left, top, width, height } = u.bbox;
          ctx.save();
          ctx.font = `${11 * devicePixelRatio}px ${css('--vscode-font-family', 'sans-serif')}`;
          const taken: [number, number][][] = []; // label extents per row
          const vline = (tSec: number, color: string, label: string, dash: number[]) => {
            const x = u.valToPos(tSec, 'x', true);
            if (x < left || x > left + width) return;
            ctx.strokeStyle = color;
            ctx.setLineDash(dash);
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
            // beside the line, or before it near the right edge; a row lower where it would overlap another label
            const w = ctx.measureText(label).width;
            const x0 = x + 3 + w > left + width ? x - 3 - w : x + 3;
            let row = 0;
            while (taken[row]?.some(([a, b]) => x0 < b && x0 + w > a)) row++;
            (taken[row] ??= []).push([x0, x0 + w]);
            ctx.fillStyle = color;
            ctx.fillText(label, x0, top + (12 + 13 * row) * devicePixelRatio);
          };
          const fg = css('--vscode-descriptionForeground', '#888');
          let iteration = run.samples[0]?.iteration;
          for (const s of run.samples) {
            if (s.iteration !== iteration && !compare) vline(s.t / 1000, fg, `it ${s.iteration}`, [2, 4]);
            iteration = s.iteration;
          }
          for (const m of run.markers)
            vline(
              m.t / 1000,
              css(
                m.kind === 'failed' || m.kind === 'aborted' ? '--vscode-charts-red' : '--vscode-charts-purple',
                '#a070d0',
              ),
              m.label,
              [6, 3],
            );
          if (run.linkMbps && !compare) {
            const y = u.valToPos(rate((run.linkMbps * 1e6) / 8), 'rate', true);
            if (y >= top) {
              ctx.strokeStyle = css('--vscode-charts-yellow', '#cc0');
              ctx.setLineDash([8, 4]);
              ctx.beginPath();
              ctx.moveTo(left, y);
              ctx.lineTo(left + width, y);
              ctx.stroke();
              ctx.fillStyle = ctx.strokeStyle;
              ctx.fillText(`link ${run.linkMbps / 1000} Gbit/s`, left + 4, y - 4);
            }
          }
          ctx.restore();
        },
      ],
    },
  };
}

/** Wheel zooms the time axis around the pointer; drag-select zooms too (uPlot), double-click resets. */
function wheelZoomPlugin(): uPlot.Plugin {
  return {
    hooks: {
      setSelect: [(u) => void (u.select.width > 0 && (zoomed = true))],
      ready: [
        (u) => {
          u.over.addEventListener('wheel', (e) => {
            e.preventDefault();
            const { min, max } = u.scales.x;
            if (min === undefined || max === undefined) return;
            const at = u.posToVal(e.offsetX, 'x');
            const factor = e.deltaY < 0 ? 0.8 : 1.25;
            u.setScale('x', { min: at - (at - min) * factor, max: at + (max - at) * factor });
          });
        },
      ],
    },
  };
}

function pan(direction: -1 | 1) {
  if (!plot) return;
  const { min, max } = plot.scales.x;
  if (min === undefined || max === undefined) return;
  const step = (max - min) * 0.25 * direction;
  zoomed = true;
  plot.setScale('x', { min: min + step, max: max + step });
}

function buildChart() {
  plot?.destroy();
  const box = $('chart');
  // high-contrast themes leave some chart colours undefined: fall back to a theme colour that is, then to a fixed one
  const colours = [
    css('--vscode-charts-blue', '#3794ff'),
    css('--vscode-charts-orange', css('--vscode-editorWarning-foreground', '#d18616')),
    css('--vscode-charts-green', '#388a34'),
    css('--vscode-charts-purple', '#a070d0'),
    css('--vscode-charts-red', css('--vscode-editorError-foreground', '#f14c4c')),
  ];
  const fg = css('--vscode-foreground', '#ccc');
  const grid = css('--vscode-editorWidget-border', 'rgba(128,128,128,0.3)');
  const rateLabel = unit === 'MiB' ? 'MiB/s' : 'Gbit/s';
  // uPlot puts the first axis at the bottom and the others on the left unless told a side
  const axis = (scale: string, label: string, side?: uPlot.Axis.Side): uPlot.Axis => ({
    scale,
    label,
    stroke: fg,
    ...(side !== undefined && { side }),
    grid: { stroke: grid, width: 1, show: side === undefined },
    ticks: { stroke: grid },
  });
  const time: uPlot.Series = { label: 'time', value: (_u, v) => (v == null ? '--' : `${v.toFixed(1)} s`) };
  const series: uPlot.Series[] = compare
    ? [
        time,
        // the two runs' samples interleave on one x array: each run's gaps are the other's samples
        { label: `A throughput (${rateLabel})`, scale: 'rate', stroke: colours[0], width: 2, spanGaps: true },
        { label: `B throughput (${rateLabel})`, scale: 'rate', stroke: colours[1], width: 2, spanGaps: true },
        { label: 'A remaining (MiB)', scale: 'bytes', stroke: colours[0], dash: [4, 4], spanGaps: true },
        { label: 'B remaining (MiB)', scale: 'bytes', stroke: colours[1], dash: [4, 4], spanGaps: true },
      ]
    : [
        time,
        { label: `throughput (${rateLabel})`, scale: 'rate', stroke: colours[0], width: 2 },
        { label: `dirty rate (${rateLabel})`, scale: 'rate', stroke: colours[1], width: 1.5 },
        { label: 'remaining (MiB)', scale: 'bytes', stroke: colours[2], width: 1.5 },
        { label: 'transferred (MiB)', scale: 'bytes', stroke: colours[3], width: 1, dash: [5, 3] },
        { label: 'CPU throttle (%)', scale: '%', stroke: colours[4], width: 1, show: !!run?.autoConverge },
      ];
  plot = new uPlot(
    {
      width: Math.max(300, box.clientWidth),
      height: 320,
      series,
      scales: { x: { time: false }, '%': { range: [0, 100] } },
      axes: [axis('x', 'seconds since start'), axis('rate', rateLabel), axis('bytes', 'MiB', 1)],
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
      plugins: [overlayPlugin(), wheelZoomPlugin()],
      // the x range shown, for tests and tools that check a zoom survives new samples
      hooks: {
        setScale: [
          (u, key) =>
            void (key === 'x' && (box.dataset.xRange = `${u.scales.x.min?.toFixed(3)}..${u.scales.x.max?.toFixed(3)}`)),
        ],
        // the pointer off the chart: the legend shows the latest values, not "--"
        setCursor: [(u) => showLatestInLegend(u)],
      },
    },
    chartData(),
    box,
  );
  showLatestInLegend(plot);
  box.dataset.points = String(run?.samples.length ?? 0);
  // how often the chart was made anew: appending samples must not (tests read it)
  box.dataset.builds = String(Number(box.dataset.builds ?? 0) + 1);
  box.dataset.drawnFor = document.body.dataset.vscodeThemeKind ?? ''; // the theme its colours came from
}

function showLatestInLegend(u: uPlot) {
  const count = u.data[0]?.length ?? 0;
  if (u.cursor.idx == null && count) u.setLegend({ idx: count - 1 }, false);
}

function updateChart() {
  if (!plot) return buildChart();
  plot.setData(chartData(), plot.scales.x.min === undefined || !zoomed);
  showLatestInLegend(plot);
  $('chart').dataset.points = String(run?.samples.length ?? 0);
}
function renderTable() {
  const table = $('samples');
  if (table.hidden || !run) return;
  const body = $('samplesBody');
  const rows = run.samples.slice(-300).reverse();
  body.replaceChildren(
    ...rows.map((s) => {
      const tr = el('tr');
      for (const v of [
        (s.t / 1000).toFixed(1),
        rateText(s.bps, unit),
        rateText(s.dirtyBps, unit),
        mibText(s.remaining),
        mibText(s.processed),
        String(s.iteration),
        s.expectedDowntimeMs !== undefined ? `${s.expectedDowntimeMs} ms` : '',
      ])
        tr.append(el('td', v));
      return tr;
    }),
  );
  $('samplesCaption').textContent =
    `${run.samples.length} samples${run.samples.length > rows.length ? `, the newest ${rows.length} shown` : ''}`;
}

function renderFindings(findings: Finding[] | undefined) {
  const list = $('findings');
  list.replaceChildren();
  if (!findings) return;
  if (!findings.length) list.append(el('li', 'Nothing found that slows this migration.'));
  for (const f of findings) {
    const li = el('li', undefined, `finding ${f.severity}`);
    const icon = f.severity === 'problem' ? 'error' : f.severity === 'warning' ? 'warning' : 'info';
    li.append(el('span', undefined, `codicon codicon-${icon}`), el('strong', f.title));
    li.append(el('div', f.evidence, 'evidence'));
    if (f.fix) li.append(el('div', `Fix: ${f.fix}`, 'fix'));
    li.dataset.finding = f.id;
    list.append(li);
  }
}

function renderCompare() {
  const section = $('compare');
  section.hidden = !compare;
  if (!compare || !run) return;
  const a = run;
  const b = compare;
  const stats = (r: RunView) => {
    const x = assess(r.samples, { autoConverge: r.autoConverge, postcopy: false });
    return {
      avg: r.summary?.averageBps ?? x.averageBps,
      peak: x.peakBps,
      total: r.summary?.totalMs,
      downtime: r.summary?.downtimeMs,
      iterations: r.summary?.iterations ?? r.samples.at(-1)?.iteration,
    };
  };
  const sa = stats(a);
  const sb = stats(b);
  const ratio = (x?: number, y?: number) => (x && y ? `${(y / x).toFixed(2)}×` : '');
  const rows: [string, string, string, string][] = [
    ['when', new Date(a.startedAt).toLocaleString(), new Date(b.startedAt).toLocaleString(), ''],
    ['route', a.route.join(' → '), b.route.join(' → '), ''],
    ['average throughput', rateText(sa.avg, unit), rateText(sb.avg, unit), ratio(sa.avg, sb.avg)],
    ['peak throughput', rateText(sa.peak, unit), rateText(sb.peak, unit), ratio(sa.peak, sb.peak)],
    [
      'total time',
      sa.total !== undefined ? `${sa.total} ms` : '?',
      sb.total !== undefined ? `${sb.total} ms` : '?',
      ratio(sa.total, sb.total),
    ],
    [
      'downtime',
      sa.downtime !== undefined ? `${sa.downtime} ms` : '?',
      sb.downtime !== undefined ? `${sb.downtime} ms` : '?',
      ratio(sa.downtime, sb.downtime),
    ],
    ['iterations', String(sa.iterations ?? '?'), String(sb.iterations ?? '?'), ''],
    ['outcome', a.phase, b.phase, ''],
  ];
  for (const key of [...new Set([...Object.keys(a.settings), ...Object.keys(b.settings)])].sort()) {
    if (a.settings[key] !== b.settings[key])
      rows.push([key, a.settings[key] ?? '—', b.settings[key] ?? '—', 'differs']);
  }
  $('compareBody').replaceChildren(
    ...rows.map((cells) => {
      const tr = el('tr');
      tr.append(el('th', cells[0]));
      for (const c of cells.slice(1)) tr.append(el('td', c));
      if (cells[3] === 'differs') tr.className = 'differs';
      return tr;
    }),
  );
}

function renderAll() {
  if (!run) return;
  rebuildColumns();
  document.body.classList.toggle('comparing', !!compare);
  renderHeader();
  buildChart();
  renderTable();
  renderFindings(run.findings);
  renderCompare();
}

/** The whole run, when the panel's content has (re)loaded. The same run again keeps the user's zoom and pan. */
function init(m: Extract<ToWebview, { type: 'init' }>) {
  const same = !!plot && run?.id === m.run.id && compare?.id === m.compare?.id;
  run = m.run;
  compare = m.compare;
  // the same run again keeps its leg's progress (never backwards); the next migration of a joined run starts afresh
  header = new MonitorHeader(run, same ? header : undefined);
  vscode.setState({ runId: run.id, domainUuid: run.domainUuid, compareId: compare?.id });
  if (!same) {
    zoomed = false;
    return renderAll();
  }
  rebuildColumns();
  renderHeader();
  updateChart();
  renderTable();
  renderFindings(run.findings);
  renderCompare();
}

/** New samples: appended to the chart's columns and fed to the assessment, nothing recomputed over the whole run. */
function append(r: RunView, samples: Sample[]) {
  header?.push(samples);
  r.samples.push(...samples);
  // the extension thins its record past MAX_SAMPLES; the panel does the same, so both hold the same shape
  if (r.samples.length > MAX_SAMPLES) {
    r.samples = thinned(r.samples, MAX_SAMPLES);
    rebuildColumns();
  } else appendColumns(samples);
}

window.addEventListener('message', (e: MessageEvent<ToWebview>) => {
  const m = e.data;
  if (m.type === 'init') {
    diagnosis.forget(); // the run shown anew: an answer on its way belongs to what was shown before
    return init(m);
  }
  if (m.type === 'diagnosing') {
    if (diagnosis.answers(m.requestId)) $('findings').replaceChildren(el('li', 'Probing both hosts (one second)…'));
    return;
  }
  if (m.type === 'diagnosisFailed') {
    if (diagnosis.settle(m.requestId)) $('findings').replaceChildren(el('li', `The diagnosis failed: ${m.message}`));
    return;
  }
  if (m.type === 'findings' && !diagnosis.settle(m.requestId)) return;
  if (!run || m.id !== run.id) return;
  if (m.type === 'append') {
    append(run, m.samples);
    run.markers.push(...m.markers);
    renderHeader();
    updateChart();
    renderTable();
  } else if (m.type === 'header') {
    const findingsChanged = JSON.stringify(m.header.findings) !== JSON.stringify(run.findings);
    Object.assign(run, m.header);
    header = header?.follow(run);
    run.markers.push(...m.markers);
    renderHeader();
    if (findingsChanged) renderFindings(run.findings);
    plot?.redraw(); // markers and the link-speed line are drawn over the plot
  } else if (m.type === 'findings') {
    run.findings = m.findings;
    if (m.linkMbps) run.linkMbps = m.linkMbps;
    renderFindings(m.findings);
    plot?.redraw();
  }
});

function wire() {
  for (const b of ACTION_BUTTONS) document.getElementById(b.id)!.addEventListener('click', () => post(b.action));
  $('unit').addEventListener('change', (e) => {
    unit = (e.target as HTMLSelectElement).value as 'MiB' | 'Gbit';
    renderAll();
  });
  $('table').addEventListener('click', () => {
    const table = $('samples');
    table.hidden = !table.hidden;
    $('table').setAttribute('aria-pressed', String(!table.hidden));
    renderTable();
  });
  $('panLeft').addEventListener('click', () => pan(-1));
  $('panRight').addEventListener('click', () => pan(1));
  $('reset').addEventListener('click', () => {
    zoomed = false;
    plot?.setData(chartData(), true);
  });
  $('chart').addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft') pan(-1);
    else if (e.key === 'ArrowRight') pan(1);
    else if (e.key === 'Escape') $('reset').click();
  });
  // a drag-select or the wheel zooms: new samples then leave the view alone; uPlot's double-click resets it
  $('chart').addEventListener('wheel', () => (zoomed = true));
  $('chart').addEventListener('dblclick', () => (zoomed = false));
  // theme switch: body classes change; redraw with the new colours
  new MutationObserver(() => renderAll()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
  new ResizeObserver(() => plot?.setSize({ width: Math.max(300, $('chart').clientWidth), height: 320 })).observe(
    $('chart'),
  );
  setInterval(() => run && running(run) && renderHeader(), 1000);
  vscode.postMessage({ type: 'ready' });
}

wire();
