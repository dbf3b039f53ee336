/**
 * Messages between the extension and the migration monitor webview. Shared by both bundles, so plain data only.
 * Init once, then append: the extension sends a run whole when the panel's content (re)loads, then only what is new
 * while it is visible: samples and markers as they come, and the header fields when one of them changes.
 */
import type { Finding } from '../core/diagnosis';
import type { RunSummary } from '../core/migration/header';
import type { MigrationPhase, RunPart } from '../core/migration/record';
import type { MigrationMarker, Sample } from '../core/migration/monitor';
import type { TrafficSample } from '../core/traffic';

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
  /** a migration KubeVirt drives: watched only, never steered from here */
  kubevirt: boolean;
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
  /** the hosts it went through in order: [source, target], or more for an operation's joined migrations */
  route: string[];
  /** a migration's part in its operation ("upgrading QEMU, leg 1 of 2"), while it is not joined with the next */
  step?: string;
  /**
   * the legs of an operation's joined migrations, in order (see joinParts): the header shows the latest one's
   * phase, progress and throughput from its own samples (those from its offset on), and every leg's outcome
   */
  parts?: RunPart[];
  /** of the whole run (a joined run's: summed over its legs) */
  summary?: RunSummary;
  /** "Keep TCP connections": the extra pause of the gated switchover */
  extraPauseMs?: number;
  error?: string;
  findings?: Finding[];
}

/** What a panel shows of a run besides its samples and markers: sent alone when any of it changes. */
export type RunHeader = Pick<
  RunView,
  'phase' | 'finishedAt' | 'linkMbps' | 'summary' | 'parts' | 'extraPauseMs' | 'error' | 'findings'
>;

export type MonitorAction =
  | 'setBandwidth'
  | 'setMaxDowntime'
  | 'postcopy'
  | 'abort'
  | 'diagnose'
  | 'exportJson'
  | 'exportCsv'
  | 'compare'
  | 'importRun';

export type ToWebview =
  | { type: 'init'; run: RunView; compare?: RunView }
  /** samples and markers since the last message, never one already sent */
  | { type: 'append'; id: string; samples: Sample[]; markers: MigrationMarker[] }
  | { type: 'header'; id: string; header: RunHeader; markers: MigrationMarker[] }
  /** answers to a 'diagnose' request, carrying its requestId (see LatestRequest): probing now, then the findings */
  | { type: 'diagnosing'; requestId: string }
  | { type: 'findings'; requestId: string; id: string; findings: Finding[]; linkMbps?: number }
  | { type: 'diagnosisFailed'; requestId: string; message: string };

export type FromWebview =
  | { type: 'ready' }
  /** a button: a command, answered (if at all) by what it changes in the run */
  | { type: 'action'; action: Exclude<MonitorAction, 'diagnose'> }
  /** "Why is it slow?": a request, answered by messages carrying its requestId */
  | { type: 'diagnose'; requestId: string };

/** What the panel keeps across a window reload (webview state, read by the serializer). */
export interface MonitorState {
  runId: string;
  domainUuid: string;
  compareId?: string;
}

/** The interface traffic view's points (core/traffic): rates on the host's clock, four a second. */
export type { TrafficSample };

/** What the traffic view keeps in its webview state (restored with the panel after a window reload). */
export interface TrafficState {
  /** the interface: the host's alias, the domain's UUID, the interface's MAC */
  watched: { alias: string; domainUuid: string; mac: string };
  /** its last two minutes */
  samples: TrafficSample[];
}

export type ToTrafficView =
  | { type: 'init'; watched: TrafficState['watched']; title: string; limits: string; problems: string[] }
  | { type: 'sample'; sample: TrafficSample }
  | { type: 'error'; message: string };
