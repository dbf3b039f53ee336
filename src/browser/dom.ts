/**
 * The monitor's element ids and action buttons, written by the extension's HTML and read by the webview bundle:
 * one definition, so a renamed id cannot leave one side looking for an element the other no longer makes.
 * (media/monitor.css styles some of them by the same names.)
 */
import type { MonitorAction } from './protocol';

export const MonitorIds = {
  title: 'title',
  phase: 'phase',
  elapsed: 'elapsed',
  eta: 'eta',
  percent: 'percent',
  downtime: 'downtime',
  throughput: 'throughput',
  extraPause: 'extra-pause',
  /** a joined run's legs and totals (hidden for a run of one migration) */
  operation: 'operation',
  bar: 'bar',
  barFill: 'bar-fill',
  convergence: 'convergence',
  error: 'error',
  unit: 'unit',
  panLeft: 'act-pan-left',
  panRight: 'act-pan-right',
  reset: 'act-reset',
  table: 'act-table',
  chart: 'chart',
  samples: 'samples',
  samplesCaption: 'samples-caption',
  samplesBody: 'samples-body',
  compare: 'compare',
  compareBody: 'compare-body',
  findings: 'findings',
} as const;

export interface ActionButton {
  id: string;
  action: MonitorAction;
  icon: string;
  label: string;
  /** steers the live migration: disabled for finished and imported runs, hidden in a comparison */
  steers?: boolean;
  /** shown only for a single run (hidden in a comparison) */
  liveOnly?: boolean;
  primary?: boolean;
}

/** The toolbar's actions, in order; a separator follows the steering ones. */
export const ACTION_BUTTONS: readonly ActionButton[] = [
  { id: 'act-bandwidth', action: 'setBandwidth', icon: 'dashboard', label: 'Bandwidth…', steers: true },
  { id: 'act-downtime', action: 'setMaxDowntime', icon: 'watch', label: 'Max Downtime…', steers: true },
  { id: 'act-postcopy', action: 'postcopy', icon: 'debug-step-over', label: 'Postcopy', steers: true },
  { id: 'act-abort', action: 'abort', icon: 'stop-circle', label: 'Abort', steers: true },
  { id: 'act-diagnose', action: 'diagnose', icon: 'search', label: 'Why Is It Slow?', liveOnly: true, primary: true },
  { id: 'act-compare', action: 'compare', icon: 'diff', label: 'Compare With…' },
  { id: 'act-import', action: 'importRun', icon: 'cloud-download', label: 'Import Run…' },
  { id: 'act-export-json', action: 'exportJson', icon: 'json', label: 'Export JSON' },
  { id: 'act-export-csv', action: 'exportCsv', icon: 'table', label: 'Export CSV' },
];

/** The interface traffic view's element ids. */
export const TrafficIds = {
  title: 'title',
  limits: 'limits',
  problems: 'problems',
  error: 'error',
  chart: 'chart',
  intoGuest: 'into-guest',
  outOfGuest: 'out-of-guest',
  shaped: 'shaped',
  counters: 'counters',
} as const;
