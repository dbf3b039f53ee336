/**
 * Conntrack sync: a VM's flow state moved from one host to another so its TCP connections survive a migration
 * through firewalls that only admit established flows. Backends sit behind one interface: netfilter via
 * conntrack-tools here; an HTTP export/import API (like Cilium's in seed 003) fits the same shape.
 */
import type { Flow } from '../core/conntrack';
import { assertAddress, conntrackVersionProblem, exportArgv, importArgv, loadText, parseExport, SNAPSHOT_END, snapshotThenChangesArgv } from '../core/conntrack';
import { deferred } from '../core/emitter';
import type { HostConnection } from '../transport/hostConnection';
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
   * The flows now (`snapshot`), then on `changes()` only those new or changed since — the switchover gate's two
   * listings, with the second ready to run at once. `cancel()` ends it without the second listing.
   */
  snapshotThenChanges(host: HostConnection, addresses: readonly string[]): Promise<SnapshotThenChanges>;
}

export interface SnapshotThenChanges {
  snapshot: Promise<ConntrackExportResult>;
  changes(): Promise<ConntrackExportResult>;
  cancel(): void;
}

export const netfilterBackend: ConntrackBackend = {
  name: 'netfilter (conntrack-tools)',
  async check(host) {
    const r = await host.exec(['conntrack', '--version'], { timeoutMs: 10_000 });
    const problem = conntrackVersionProblem(r.code, r.stdout + r.stderr);
    if (problem) throw new Error(`${host.alias}: ${problem}`);
    const probe = await host.exec(['conntrack', '-C'], { timeoutMs: 10_000 });
    if (probe.code !== 0) throw new Error(`${host.alias}: conntrack cannot read the table: ${probe.stderr.trim() || `exit ${probe.code}`} (root or CAP_NET_ADMIN needed)`);
  },
  async export(host, addresses) {
    const r = await host.exec(exportArgv(addresses), { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`${host.alias}: conntrack export failed: ${r.stderr.trim().split('\n').filter((l) => !/flow entries have been shown/.test(l)).join('; ') || `exit ${r.code}`}`);
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
    void session.done.then((code) => snapshot.reject(new Error(`${host.alias}: the conntrack listing ended (exit ${code}) before its first result`)));
    snapshot.promise.catch(() => undefined);
    return {
      snapshot: snapshot.promise,
      async changes() {
        await snapshot.promise;
        session.write('go\n');
        session.end(); // its second listing is the last thing it does
        const code = await session.done;
        if (code !== 0) throw new Error(`${host.alias}: conntrack listing at the switchover failed (exit ${code})`);
        const changed = chunks.join('').slice(split + marker.length);
        return { ...parseExport(changed), bytes: Buffer.byteLength(changed) };
      },
      cancel: () => session.close(),
    };
  },
  async inventory(host, addresses) {
    const r = await host.exec(exportArgv(addresses), { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`${host.alias}: conntrack listing failed: ${r.stderr.trim()}`);
    return new Map(parseExport(r.stdout).flows.map((f) => [f.key, f.mark]));
  },
};

export interface SyncReport {
  entries: number;
  bytes: number;
  exportMs: number;
  /** Ferry's relay step: listings turned into loadable lines */
  transferMs: number;
  importMs: number;
  verifyMs: number;
  totalMs: number;
  /** exported flows the target does not hold afterwards (with the same mark) */
  missing: number;
  skipped: number;
}

/**
 * Export from the source, relay through Ferry, import on the target, verify there. Nothing is deleted anywhere
 * and nothing is written to disk on either host; a re-run is safe (-A only adds what is missing). The import channel is
 * opened while the export runs, so the two SSH round trips overlap.
 */
export async function syncConntrack(backend: ConntrackBackend, source: HostConnection, target: HostConnection, addresses: readonly string[], verify = true): Promise<SyncReport> {
  for (const a of addresses) assertAddress(a); // before any channel opens
  const started = performance.now();
  const data = deferred<string>();
  data.promise.catch(() => undefined); // a failed export is reported below, not as an unhandled rejection
  const importing = backend.import(target, data.promise).catch((e: Error) => {
    throw unfinished('the import', target, e);
  });
  let exported: ConntrackExportResult;
  let exportMs: number;
  let transferMs: number;
  try {
    const t0 = performance.now();
    exported = await backend.export(source, addresses).catch((e: Error) => {
      throw unfinished('the export', source, e);
    });
    exportMs = performance.now() - t0;
    const t1 = performance.now();
    const text = loadText(exported.flows);
    transferMs = performance.now() - t1;
    data.resolve(text);
  } catch (e) {
    data.reject(e);
    await importing.catch(() => undefined);
    throw e;
  }
  const t2 = performance.now();
  await importing;
  const importMs = performance.now() - t2;
  let missing = 0;
  let verifyMs = 0;
  if (verify && exported.flows.length) {
    const t3 = performance.now();
    const held = await backend.inventory(target, addresses).catch((e: Error) => {
      throw unfinished('checking the import', target, e);
    });
    missing = exported.flows.filter((f) => held.get(f.key) !== f.mark).length;
    verifyMs = performance.now() - t3;
  }
  return { entries: exported.flows.length, bytes: exported.bytes, exportMs, transferMs, importMs, verifyMs, totalMs: performance.now() - started, missing, skipped: exported.skipped };
}

/** A step that failed or lost its host mid-stream: what happened, and that nothing was lost. */
function unfinished(step: string, host: HostConnection, e: Error): Error {
  const lost = e instanceof SshError && ['closed', 'timeout', 'unreachable'].includes(e.kind);
  const what = lost ? `the SSH link to ${host.alias} dropped during ${step} (${e.message})` : e.message;
  return new Error(`${what}. Nothing was deleted on either host; run the sync again${lost ? ` once ${host.alias} is back` : ''} (it only adds what the target lacks, so it is safe to repeat).`);
}
