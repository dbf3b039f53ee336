/**
 * Messages between the extension and the migration monitor webview. Shared by both bundles, so plain data only.
 * The extension sends a run whole when the panel (re)appears, then appends samples while it is visible.
 */
import type { Finding } from '../core/diagnosis';
import type { MigrationPhase } from '../core/migrationRecord';
import type { MigrationMarker, Sample } from '../core/monitor';

/** A migration run as the panel draws it: live, from history, or imported from a colleague's export. */
export interface RunView {
  id: string;
  domainUuid: string;
  domainName: string;
  source: string;
  target: string;
  phase: MigrationPhase;
  discovered: boolean;
  imported: boolean;
  startedAt: number;
  finishedAt?: number;
  /** what differs between runs is compared setting by setting */
  settings: Record<string, string>;
  autoConverge: boolean;
  maxDowntimeMs?: number;
  /** of the migration interface, when a diagnosis has read it */
  linkMbps?: number;
  samples: Sample[];
  markers: MigrationMarker[];
  summary?: { totalMs?: number; downtimeMs?: number; iterations?: number; averageBps?: number; dataProcessed?: number };
  /** "Keep TCP connections": the extra pause of the gated switchover */
  extraPauseMs?: number;
  error?: string;
  findings?: Finding[];
}

export type MonitorAction = 'setBandwidth' | 'setMaxDowntime' | 'postcopy' | 'abort' | 'diagnose' | 'exportJson' | 'exportCsv' | 'compare' | 'importRun';

export type ToWebview =
  | { type: 'runs'; run: RunView; compare?: RunView }
  | { type: 'samples'; id: string; samples: Sample[]; phase: MigrationPhase; markers: MigrationMarker[] }
  | { type: 'diagnosing' }
  | { type: 'findings'; id: string; findings: Finding[]; linkMbps?: number };

export type FromWebview = { type: 'ready' } | { type: 'action'; action: MonitorAction };

/** What the panel keeps across a window reload (webview state, read by the serializer). */
export interface MonitorState {
  runId: string;
  domainUuid: string;
  compareId?: string;
}
