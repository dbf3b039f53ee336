/**
 * The KubeVirt side of a host: the virt-launcher pods on it, from one scan that runs on the host while it is connected
 * (a block printed only when something changed: a pod came or went, its migration proxy, QEMU or domain's state
 * changed). A running domain is as libvirt's status file in the pod says (read by the scan); one without a QEMU is read
 * through the pod's own libvirt, read-only. Pods come and go with a new launcher PID each time: no refresh by hand.
 */
import type { Domain } from '../core/domain';
import { DisposableStore } from '../core/disposables';
import type { Event } from '../core/emitter';
import { Emitter } from '../core/emitter';
import type { KubevirtPod } from '../core/kubevirt';
import { domainFromPodStatus } from '../core/domain';
import { kubevirtDomainName, parseScanBlock, podUri } from '../core/kubevirt';
import { DOMSTATS_WORDS, domainsFrom, parseDomainList, parseDomstats } from '../core/virsh';
import { kubevirtScanArgv } from '../remote/kubevirt';
import type { RemoteHost } from '../remote/remoteHost';
import type { Logger } from '../transport/logger';
import type { RemoteStream } from '../transport/sshConnection';
import type { ShellCommand } from './virshShell';
import { VirshShell } from './virshShell';

/** how often the host looks at its pods again (each look prints nothing unless something changed)… */
export const KUBEVIRT_SCAN_INTERVAL_S = 1;
/** …and while it has none (most hosts are no KubeVirt node; a first pod shows within this) */
export const KUBEVIRT_IDLE_SCAN_INTERVAL_S = 3;
// KubeVirt's domain names hold no line break (Kubernetes names), so one listing of UUID and name is enough
const podQuestions = (uri: string): ShellCommand[] => [
  ['connect', '--readonly', uri],
  ['uri'],
  ['list', '--all', '--uuid', '--name'],
  [...DOMSTATS_WORDS],
];

const QUESTIONS_PER_POD = podQuestions('').length;

export interface PodState {
  pod: KubevirtPod;
  /** its domain, once read (undefined before, or when the pod's libvirt has none or cannot be read) */
  domain?: Domain;
  error?: string;
}

export class KubevirtNode {
  private readonly disposables = new DisposableStore();
  private readonly changeEmitter = this.disposables.add(new Emitter<void>());
  readonly onDidChange: Event<void> = this.changeEmitter.event;
  private readonly migrationEmitter = this.disposables.add(new Emitter<PodState>());
  /** a pod's migration proxy appeared: KubeVirt is migrating its VM out of this node */
  readonly onDidSeeMigration: Event<PodState> = this.migrationEmitter.event;
  private readonly byLauncher = new Map<number, PodState>();
  private scan: RemoteStream | undefined;
  private reader: VirshShell | undefined;
  private opening: Promise<VirshShell> | undefined;
  /** set once the first scan since connecting has been read (and its pods' domains) */
  private scanned = false;
  private readonly firstScanWaiters: (() => void)[] = [];

  constructor(
    private readonly connection: RemoteHost,
    private readonly log: Logger,
  ) {
    this.disposables.add(
      connection.onDidConnect(() => {
        this.scanned = false;
        this.reader?.close();
        this.reader = undefined;
        void this.watch();
      }),
    );
  }

  get alias() {
    return this.connection.alias;
  }

  /** the pods on this node, newest scan */
  get pods(): PodState[] {
    return [...this.byLauncher.values()];
  }

  /** The domains KubeVirt runs here (pods whose libvirt was read). */
  get domains(): Domain[] {
    return this.pods.flatMap((p) => (p.domain ? [p.domain] : []));
  }

  /** whether the pods shown are this connection's (its first scan has been applied) */
  get scannedSinceConnect(): boolean {
    return this.scanned;
  }

  /** Resolves once the first scan since connecting has been applied (pods and their domains). */
  whenScanned(): Promise<void> {
    return this.scanned ? Promise.resolve() : new Promise((r) => this.firstScanWaiters.push(r));
  }

  /** Read every pod's domain again now (after a migration ends here, say). */
  async refresh(): Promise<void> {
    await this.readDomains(this.pods);
  }

  private async watch(): Promise<void> {
    const old = this.scan;
    this.scan = undefined; // its end is not this scan's
    old?.close();
    // each stream's lines make its own blocks: an old stream's last lines never join a new one's
    let block: string[] = [];
    const onLine = (line: string) => {
      if (line !== '@scan') return void block.push(line);
      const lines = block;
      block = [];
      void this.apply(parseScanBlock(lines));
    };
    try {
      const stream = await this.connection.stream(
        kubevirtScanArgv(KUBEVIRT_SCAN_INTERVAL_S, KUBEVIRT_IDLE_SCAN_INTERVAL_S),
        onLine,
      );
      this.scan = stream;
      const code = await stream.done;
      if (this.scan === stream && !this.disposed && this.connection.state.kind === 'connected') {
        this.log.warn(`${this.alias}: the KubeVirt pod scan ended (exit ${code}); starting it again`);
        setTimeout(() => this.scan === stream && !this.disposed && void this.watch(), 2000);
      }
    } catch (e) {
      this.log.warn(`${this.alias}: cannot scan for KubeVirt pods: ${(e as Error).message}`);
    }
  }

  private async apply(pods: KubevirtPod[]): Promise<void> {
    const seen = new Set(pods.map((p) => p.launcherPid));
    let changed = false;
    for (const pid of [...this.byLauncher.keys()])
      if (!seen.has(pid)) {
        this.byLauncher.delete(pid);
        changed = true;
      }
    const toRead: PodState[] = [];
    for (const pod of pods) {
      const known = this.byLauncher.get(pod.launcherPid);
      const migrationStarted = pod.migrationProxy && !known?.pod.migrationProxy;
      if (known && JSON.stringify(known.pod) === JSON.stringify(pod)) continue;
      const state: PodState = { ...known, pod };
      this.byLauncher.set(pod.launcherPid, state);
      changed = true;
      toRead.push(state);
      if (migrationStarted) queueMicrotask(() => this.migrationEmitter.fire(this.byLauncher.get(pod.launcherPid)!));
    }
    if (changed) this.changeEmitter.fire();
    // a node without pods (most hosts) keeps no virsh open for them
    if (!this.byLauncher.size) {
      this.reader?.close();
      this.reader = undefined;
    }
    await this.readDomains(toRead);
    if (!this.scanned) {
      this.scanned = true;
      for (const w of this.firstScanWaiters.splice(0)) w();
    }
  }

  /**
   * Each pod's domain through its own libvirt, all in one question to one virsh on the node (`connect --readonly`
   * per pod: fifty virsh processes took 4.8 s there, one with fifty connections 0.3 s). A pod whose libvirt does not
   * take the connection keeps virsh on the one before: `uri` says which answered, and only the pod's own is read.
   */
  private async readDomains(states: PodState[]): Promise<void> {
    // a running domain's status file, read by the scan, says what the tree shows: no libvirt call
    for (const s of states) if (s.pod.status) [s.domain, s.error] = [domainFromPodStatus(s.pod), undefined];
    // a DVP pod is not read (the node says why, once): nothing of an earlier look, before its daemon was known, stays
    for (const s of states) if (s.pod.restricted) [s.domain, s.error] = [undefined, undefined];
    const readable = states.filter((s) => !s.pod.status && !s.pod.restricted && podUri(s.pod));
    for (const s of states)
      if (!s.pod.status && !s.pod.restricted && !podUri(s.pod)) s.error = 'its libvirt socket is not there (yet)';
    if (readable.length) {
      try {
        const shell = await this.podReader();
        const { texts } = await shell.ask(readable.flatMap((s) => podQuestions(podUri(s.pod)!)));
        readable.forEach((s, i) => this.readAnswer(s, texts.slice(i * QUESTIONS_PER_POD, (i + 1) * QUESTIONS_PER_POD)));
      } catch (e) {
        for (const s of readable) s.error = (e as Error).message;
      }
    }
    if (states.length) this.changeEmitter.fire();
  }

  private readAnswer(state: PodState, [, uri, names, stats]: string[]): void {
    const live = this.byLauncher.get(state.pod.launcherPid);
    // the pod went, or a newer scan changed it, while it was read: that scan's reading counts
    if (!live || live.pod !== state.pod) return;
    if (uri.trim() !== podUri(live.pod)) {
      live.error = 'its libvirt did not take the connection';
      live.domain = undefined;
      return;
    }
    const list = parseDomainList(names);
    // the pod's libvirt holds its VM's domain only (named as KubeVirt names it)
    const domain = domainsFrom(list, parseDomstats(stats)).find((d) => d.name === kubevirtDomainName(live.pod));
    live.domain = domain && { ...domain, kubevirt: live.pod };
    live.error = domain ? undefined : 'no domain in its libvirt (yet)';
  }

  /** one virsh on the node for every pod's libvirt, opened on libvirt's built-in test driver (no daemon) */
  private podReader(): Promise<VirshShell> {
    if (this.reader && !this.reader.isClosed) return Promise.resolve(this.reader);
    this.opening ??= VirshShell.open(this.connection, 'test:///default', 'KubeVirt pod reader', { timeoutMs: 30_000 })
      .then((shell) => {
        if (this.disposed) shell.close();
        return (this.reader = shell);
      })
      .finally(() => (this.opening = undefined));
    return this.opening;
  }

  private get disposed() {
    return this.disposables.isDisposed;
  }

  dispose(): void {
    this.scan?.close();
    this.reader?.close();
    this.disposables.dispose();
  }
}
