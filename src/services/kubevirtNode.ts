/**
 * The KubeVirt side of a host: the virt-launcher pods on it, from one scan that runs on the host while it is connected
 * (a block printed only when something changed: a pod came, went, or its migration proxy or QEMU did), and each pod's
 * domain read through its own libvirt, read-only. Pods come and go with a new launcher PID each time: no refresh by
 * hand.
 */
import type { Domain } from '../core/domain';
import { DisposableStore } from '../core/disposables';
import type { Event } from '../core/emitter';
import { Emitter } from '../core/emitter';
import type { KubevirtPod } from '../core/kubevirt';
import { kubevirtDomainName, parsePodLine, podUri } from '../core/kubevirt';
import { domainsFrom, parseDomainList, parseDomstats, virsh } from '../core/virsh';
import { kubevirtScanArgv } from '../remote/kubevirt';
import type { RemoteHost } from '../remote/remoteHost';
import type { Logger } from '../transport/logger';
import type { RemoteStream } from '../transport/sshConnection';
import { virshErrorText } from './libvirtError';

/** how often the host looks at its pods again (each look prints nothing unless something changed) */
export const KUBEVIRT_SCAN_INTERVAL_S = 1;
/** a pod's domain is read again this often while nothing about the pod changes (its state, paused or not) */
const DOMAIN_REREAD_MS = 15_000;
/** pods whose libvirt is read at once (a node with fifty pods must not open fifty channels together) */
const READ_CONCURRENCY = 8;

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
  private block: string[] = [];
  private rereadTimer: NodeJS.Timeout | undefined;
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
        void this.watch();
      }),
    );
    this.rereadTimer = setInterval(() => {
      if (this.byLauncher.size && connection.state.kind === 'connected')
        void this.readDomains([...this.byLauncher.values()]);
    }, DOMAIN_REREAD_MS);
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

  /** Resolves once the first scan since connecting has been applied (pods and their domains). */
  whenScanned(): Promise<void> {
    return this.scanned ? Promise.resolve() : new Promise((r) => this.firstScanWaiters.push(r));
  }

  /** Read every pod's domain again now (after a migration ends here, say). */
  async refresh(): Promise<void> {
    await this.readDomains(this.pods);
  }

  private async watch(): Promise<void> {
    this.scan?.close();
    this.block = [];
    try {
      const stream = await this.connection.stream(kubevirtScanArgv(KUBEVIRT_SCAN_INTERVAL_S), (line) =>
        this.onLine(line),
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

  private onLine(line: string) {
    if (line !== '@scan') {
      this.block.push(line);
      return;
    }
    const lines = this.block;
    this.block = [];
    void this.apply(lines.map(parsePodLine).filter((p): p is KubevirtPod => !!p));
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
    await this.readDomains(toRead);
    if (!this.scanned) {
      this.scanned = true;
      for (const w of this.firstScanWaiters.splice(0)) w();
    }
  }

  /** Each pod's domain through its own libvirt (read-only), a few pods at a time. */
  private async readDomains(states: PodState[]): Promise<void> {
    const queue = states.filter((s) => !s.pod.restricted);
    const worker = async () => {
      for (let s = queue.shift(); s; s = queue.shift()) await this.readDomain(s);
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, queue.length) }, worker));
    if (states.length) this.changeEmitter.fire();
  }

  private async readDomain(state: PodState): Promise<void> {
    const { pod } = state;
    const uri = podUri(pod);
    if (!uri) {
      state.error = 'its libvirt socket is not there (yet)';
      return;
    }
    try {
      const r = await this.connection.exec(
        virsh(
          uri,
          'list --all --uuid; echo @names; list --all --uuid --name; echo @stats; domstats --raw --state --vcpu --balloon --nowait',
        ),
        { timeoutMs: 10_000 },
      );
      if (r.code !== 0) throw new Error(virshErrorText(r.stderr, r.code));
      // virsh -q's echo ends no line: the marker runs into what follows it
      const at = r.stdout.indexOf('@stats');
      const list = parseDomainList(r.stdout.slice(0, at < 0 ? undefined : at));
      const stats = parseDomstats(at < 0 ? '' : r.stdout.slice(at + '@stats'.length));
      // the pod's libvirt holds its VM's domain only (named as KubeVirt names it)
      const domain = domainsFrom(list, stats).find((d) => d.name === kubevirtDomainName(pod));
      const live = this.byLauncher.get(pod.launcherPid);
      if (!live) return; // the pod went while it was read
      live.domain = domain && { ...domain, kubevirt: live.pod };
      live.error = domain ? undefined : 'no domain in its libvirt (yet)';
    } catch (e) {
      state.error = (e as Error).message;
    }
  }

  private get disposed() {
    return this.disposables.isDisposed;
  }

  dispose(): void {
    clearInterval(this.rereadTimer);
    this.scan?.close();
    this.disposables.dispose();
  }
}
