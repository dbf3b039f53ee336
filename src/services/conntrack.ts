/**
 * Conntrack sync: a VM's flow state moved from one host to another so its TCP connections survive a migration
 * through firewalls that only admit established flows. Backends sit behind one interface: netfilter via
 * conntrack-tools here; an HTTP export/import API (like Cilium's in seed 003) fits the same shape.
 */
import type { Flow, GatePath } from '../core/conntrack';
import {
  assertAddress,
  conntrackVersionProblem,
  importArgv,
  LISTED_MARK,
  LOADED_MARK,
  loadLineOf,
  parseExport,
  splitGatePath,
  SNAPSHOT_END,
} from '../core/conntrack';
import { exportArgv, listAndDigestArgv, loadAndDigestArgv, snapshotThenChangesArgv } from '../remote/conntrack';
import { deferred } from '../core/emitter';
import type { HostConnection } from '../transport/hostConnection';
import type { RemoteSession } from '../transport/sshConnection';
import { SshError } from '../transport/sshError';

export interface ConntrackExportResult {
  flows: Flow[];
  bytes: number;
  /** listed entries of protocols that are not recreated */
  skipped: number;
}

export interface ConntrackBackend {
  readonly name: string;
  /** throws with what to do when the host cannot take part (tool missing or too old, no permission) */
  check(host: HostConnection): Promise<void>;
  export(host: HostConnection, addresses: readonly string[]): Promise<ConntrackExportResult>;
  /** load lines; `data` may still be coming (the channel opens at once, the lines follow) */
  import(host: HostConnection, data: Promise<string>): Promise<void>;
  /** flow keys with their marks, as the host holds them now */
  inventory(host: HostConnection, addresses: readonly string[]): Promise<Map<string, string>>;
  /**
   * The flows listed on the source, loaded on the target as they arrive (one channel on each host, opened at once),
   * then, with verify, the target's proof that it holds them all (see MoveResult.proven).
   */
  move(
    source: HostConnection,
    target: HostConnection,
    addresses: readonly string[],
    verify: boolean,
  ): Promise<MoveResult>;
  /**
   * The flows now (`snapshot`), then on `changes()` only those new or changed since — the switchover gate's two
   * listings, with the second ready to run at once. `cancel()` ends it without the second listing.
   */
  snapshotThenChanges(host: HostConnection, addresses: readonly string[]): Promise<SnapshotThenChanges>;
}

export interface MoveResult {
  entries: number;
  bytes: number;
  /** listed entries of protocols that are not recreated */
  skipped: number;
  /** the source's listing, from the start until its last flow was sent on */
  exportMs: number;
  /** from then until the target had loaded the last flow */
  importMs: number;
  /** the target's digest of what it holds, from the load's end */
  verifyMs: number;
  /** the target's digest of the flows equals that of the flows sent: every one is there, with its mark */
  proven: boolean;
}

export interface SnapshotThenChanges {
  snapshot: Promise<ConntrackExportResult>;
  /** path: how the host found them (from the events, or by listing again: why) */
  changes(): Promise<ConntrackExportResult & { path?: GatePath }>;
  cancel(): void;
}

export const netfilterBackend: ConntrackBackend = {
  name: 'netfilter (conntrack-tools)',
  async check(host) {
    const r = await host.exec(['conntrack', '--version'], { timeoutMs: 10_000 });
    const problem = conntrackVersionProblem(r.code, r.stdout + r.stderr);
    if (problem) throw new Error(`${host.alias}: ${problem}`);
    const probe = await host.exec(['conntrack', '-C'], { timeoutMs: 10_000 });
    if (probe.code !== 0)
      throw new Error(
        `${host.alias}: conntrack cannot read the table: ${probe.stderr.trim() || `exit ${probe.code}`} (root or CAP_NET_ADMIN needed)`,
      );
  },
  async export(host, addresses) {
    const r = await host.exec(exportArgv(addresses), { timeoutMs: 60_000 });
    if (r.code !== 0)
      throw new Error(
        `${host.alias}: conntrack export failed: ${
          r.stderr
            .trim()
            .split('\n')
            .filter((l) => !/flow entries have been shown/.test(l))
            .join('; ') || `exit ${r.code}`
        }`,
      );
    return { ...parseExport(r.stdout), bytes: Buffer.byteLength(r.stdout) };
  },
  async import(host, data) {
    const r = await host.exec(importArgv, { stdin: data, timeoutMs: 60_000, logLevel: 'info' });
    if (r.code !== 0) throw new Error(`${host.alias}: conntrack import failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  },
  async snapshotThenChanges(host, addresses) {
    // chunks are kept as they come and only the new one (with the tail before it) is searched for the marker:
    // appending to one string and searching it all again was quadratic (200,000 flows: 14 s of extension host)
    const marker = `${SNAPSHOT_END}\n`;
    const chunks: string[] = [];
    let length = 0;
    let tail = '';
    let split = -1;
    const snapshot = deferred<ConntrackExportResult>();
    const session = await host.session(snapshotThenChangesArgv(addresses), (chunk) => {
      chunks.push(chunk);
      if (split < 0) {
        const at = (tail + chunk).indexOf(marker);
        if (at >= 0) {
          split = length - tail.length + at;
          const listed = chunks.join('').slice(0, split);
          snapshot.resolve({ ...parseExport(listed), bytes: Buffer.byteLength(listed) });
        } else tail = (tail + chunk).slice(-(marker.length - 1));
      }
      length += chunk.length;
    });
    void session.done.then((code) =>
      snapshot.reject(new Error(`${host.alias}: the conntrack listing ended (exit ${code}) before its first result`)),
    );
    snapshot.promise.catch(() => undefined);
    return {
      snapshot: snapshot.promise,
      async changes() {
        await snapshot.promise;
        session.write('go\n');
        session.end(); // its second listing is the last thing it does
        const code = await session.done;
        if (code !== 0) throw new Error(`${host.alias}: conntrack listing at the switchover failed (exit ${code})`);
        const { path, flows } = splitGatePath(chunks.join('').slice(split + marker.length));
        return { ...parseExport(flows), bytes: Buffer.byteLength(flows), path };
      },
      cancel: () => session.close(),
    };
  },
  async inventory(host, addresses) {
    const r = await host.exec(exportArgv(addresses), { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`${host.alias}: conntrack listing failed: ${r.stderr.trim()}`);
    return new Map(parseExport(r.stdout).flows.map((f) => [f.key, f.mark]));
  },
  move: streamFlows,
};

/** a sync whose host stops answering ends with an error after this, never hangs */
const MOVE_TIMEOUT_MS = 60_000;

/**
 * The netfilter move: each line the source lists is turned into its `-A` line as it arrives and sent to the target's
 * `conntrack -R -` at once, so listing, relaying and loading overlap. The target then digests what it holds; Ferry
 * digests what it sent meanwhile. Nothing is written to disk on either host.
 */
async function streamFlows(
  source: HostConnection,
  target: HostConnection,
  addresses: readonly string[],
  verify: boolean,
): Promise<MoveResult> {
  const started = performance.now();
  const failed = (step: string, host: HostConnection, e: unknown): never => {
    throw Object.assign(e instanceof Error ? e : new Error(String(e)), { step, host });
  };
  let load: RemoteSession | undefined;
  let list: RemoteSession | undefined;
  let loadOut = '';
  let loadErr = '';
  let loadedAt = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    load?.close();
    list?.close();
  }, MOVE_TIMEOUT_MS);
  try {
    const loadOpen = target
      .session(
        loadAndDigestArgv(addresses, verify),
        (text) => {
          loadOut += text;
          if (!loadedAt && loadOut.includes(LOADED_MARK)) loadedAt = performance.now();
        },
        (text) => (loadErr += text),
      )
      .catch((e: unknown) => failed('the import', target, e));
    // the `-A` lines for the target, written in pieces of what one turn of the event loop brought (a write per
    // chunk made an SSH packet, a cipher and a syscall per 4 KiB); held until its channel is open. No flow is
    // listed twice: one scan, and a key is unique in the table.
    let sent = 0;
    let skipped = 0;
    let bytes = 0;
    let partial = '';
    let pending = '';
    let flushing: NodeJS.Immediate | undefined;
    let loadClosed = false;
    const send = () => {
      flushing = undefined;
      if (!load) return;
      if (pending && !loadClosed) load.write(pending);
      pending = '';
    };
    let listErr = '';
    const listed = deferred<void>();
    list = await source
      .session(
        verify ? listAndDigestArgv(addresses) : exportArgv(addresses),
        (chunk) => {
          bytes += Buffer.byteLength(chunk);
          const text = partial + chunk;
          let at = 0;
          for (let nl = text.indexOf('\n'); nl >= 0; at = nl + 1, nl = text.indexOf('\n', at)) {
            const line = text.slice(at, nl);
            if (line === LISTED_MARK) listed.resolve();
            const loadLine = loadLineOf(line);
            if (loadLine) {
              sent++;
              pending += `${loadLine}\n`;
            } else if (line.trim() && line !== LISTED_MARK) skipped++;
          }
          partial = text.slice(at);
          if (pending.length >= 1 << 20) send();
          else flushing ??= setImmediate(send);
        },
        (text) => (listErr += text),
      )
      .catch((e: unknown) => failed('the export', source, e));
    list.end();
    load = await loadOpen;
    void load.done.then(() => (loadClosed = true));
    send();
    // the whole listing is here at its end mark (its digest follows on the host's side): the load can end now
    const ended = await Promise.race([listed.promise.then(() => 'marked' as const), list.done]);
    if (flushing) clearImmediate(flushing);
    send();
    if (timedOut)
      failed(
        'the export',
        source,
        new SshError('timeout', `${source.alias}: no end of the conntrack listing within ${MOVE_TIMEOUT_MS / 1000} s`),
      );
    const listCode = ended === 'marked' ? 0 : ended;
    if (listCode !== 0) {
      load.close();
      const why =
        source.state.kind === 'connected'
          ? `conntrack export failed: ${
              listErr
                .trim()
                .split('\n')
                .filter((l) => !/flow entries have been shown/.test(l))
                .join('; ') || `exit ${listCode}`
            }`
          : 'the link dropped';
      failed(
        'the export',
        source,
        new SshError(source.state.kind === 'connected' ? 'other' : 'closed', `${source.alias}: ${why}`),
      );
    }
    const exportedAt = performance.now();
    load.end();
    const loadCode = await load.done;
    await list.done;
    const listedDigest = /\b([0-9a-f]{32})\b/.exec(listErr)?.[1];
    if (timedOut)
      failed(
        'the import',
        target,
        new SshError('timeout', `${target.alias}: no end of the conntrack load within ${MOVE_TIMEOUT_MS / 1000} s`),
      );
    if (loadCode !== 0 || !loadedAt) {
      const lost = target.state.kind !== 'connected' || loadCode === null;
      failed(
        'the import',
        target,
        new SshError(
          lost ? 'closed' : 'other',
          `${target.alias}: ${lost ? 'the link dropped' : `conntrack import failed: ${loadErr.trim() || `exit ${loadCode}`}`}`,
        ),
      );
    }
    const heldDigest = /\b([0-9a-f]{32})\b/.exec(loadOut.slice(loadOut.indexOf(LOADED_MARK)))?.[1];
    const end = performance.now();
    return {
      entries: sent,
      bytes,
      skipped,
      exportMs: exportedAt - started,
      importMs: loadedAt - exportedAt,
      verifyMs: verify ? end - loadedAt : 0,
      proven: verify && !!listedDigest && heldDigest === listedDigest,
    };
  } finally {
    clearTimeout(timer);
  }
}

export interface SyncReport {
  entries: number;
  bytes: number;
  /** the source's listing, relayed and loaded as it came */
  exportMs: number;
  /** the rest of the load once the listing had ended */
  importMs: number;
  verifyMs: number;
  totalMs: number;
  /** exported flows the target does not hold afterwards (with the same mark) */
  missing: number;
  skipped: number;
  /** the target's digest matched: no flow-by-flow comparison was needed */
  proven: boolean;
}

/**
 * Move the flows of these addresses from the source to the target: the listing streamed into the target's loader,
 * then proof there (a digest of what it holds equal to that of what was sent; when it differs, because the target
 * holds more of these flows than were sent, its listing is compared flow by flow). Nothing is deleted anywhere;
 * a re-run is safe (-A only adds what is missing).
 */
export async function syncConntrack(
  backend: ConntrackBackend,
  source: HostConnection,
  target: HostConnection,
  addresses: readonly string[],
  verify = true,
): Promise<SyncReport> {
  for (const a of addresses) assertAddress(a); // before any channel opens
  const started = performance.now();
  const moved = await backend
    .move(source, target, addresses, verify)
    .catch((e: Error & { step?: string; host?: HostConnection }) => {
      throw unfinished(e.step ?? 'the sync', e.host ?? source, e);
    });
  let missing = 0;
  let verifyMs = moved.verifyMs;
  if (verify && moved.entries && !moved.proven) {
    const t = performance.now();
    // the source as it is now against the target: flows that have ended since count for nothing
    const [now, held] = await Promise.all([
      backend.export(source, addresses).catch((e: Error) => {
        throw unfinished('checking the import', source, e);
      }),
      backend.inventory(target, addresses).catch((e: Error) => {
        throw unfinished('checking the import', target, e);
      }),
    ]);
    missing = now.flows.filter((f) => held.get(f.key) !== f.mark).length;
    verifyMs += performance.now() - t;
  }
  return {
    entries: moved.entries,
    bytes: moved.bytes,
    exportMs: moved.exportMs,
    importMs: moved.importMs,
    verifyMs,
    totalMs: performance.now() - started,
    missing,
    skipped: moved.skipped,
    proven: moved.proven,
  };
}

/** A step that failed or lost its host mid-stream: what happened, and that nothing was lost. */
function unfinished(step: string, host: HostConnection, e: Error): Error {
  const lost = e instanceof SshError && ['closed', 'timeout', 'unreachable'].includes(e.kind);
  const what = lost ? `the SSH link to ${host.alias} dropped during ${step} (${e.message})` : e.message;
  return new Error(
    `${what}. Nothing was deleted on either host; run the sync again${lost ? ` once ${host.alias} is back` : ''} (it only adds what the target lacks, so it is safe to repeat).`,
  );
}
