/**
 * A KubeVirt node as Ferry sees it from the node: one virt-launcher pod per VM, each with its own session-mode libvirt
 * reached, read-only, through the launcher's `/proc/<pid>/root`. The scan (remote/scripts/kubevirt-pods.sh) reads
 * /proc only; this module reads what it printed. KubeVirt owns these VMs: Ferry observes them and never acts on them.
 */

/** One virt-launcher pod, as the node's /proc shows it. */
export interface KubevirtPod {
  /** the virt-launcher's PID: the pod's identity while it lives (a new pod, a new PID) */
  launcherPid: number;
  namespace: string;
  /** the VMI's name; its domain is `<namespace>_<vm>` */
  vm: string;
  vmiUid?: string;
  /** the pod's libvirt socket as seen from the node, undefined when it has none (yet) */
  socket?: string;
  daemon?: { pid: number; uid: number };
  /** the daemon takes only its launcher's PID on its socket (DVP's libvirt): not readable from the node */
  restricted: boolean;
  /** capEff: its effective capabilities as /proc prints them (hex) */
  qemu?: { pid: number; uid: number; capEff: string };
  /** virt-handler's migration proxy is in the pod: a migration out of it is under way */
  migrationProxy: boolean;
  /** its running domain as libvirt's status file in the pod records it (read from the node, no libvirt call) */
  status?: { uuid: string; state: string; reason: string; vcpus?: number; memoryKiB?: number };
}

/** Kubernetes names: a namespace is a DNS label, a VMI name a DNS subdomain. */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const VM_NAME = /^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;
const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const CAP_IPC_LOCK = 14;
export const CAP_NET_BIND_SERVICE = 10;
/** whether a capability set as /proc prints it (hex) holds a capability */
export const hasCap = (capsHex: string, cap: number) => ((BigInt(`0x${capsHex}`) >> BigInt(cap)) & 1n) === 1n;

/** The domain KubeVirt names for a VMI. */
export const kubevirtDomainName = (pod: Pick<KubevirtPod, 'namespace' | 'vm'>) => `${pod.namespace}_${pod.vm}`;

/**
 * The pod's libvirt as a read-only virsh reaches it (core/virsh adds `-r` to every URI of this form). Session mode for
 * a non-root daemon, system for a root one (KubeVirt's root launchers).
 */
export function podUri(pod: Pick<KubevirtPod, 'socket' | 'daemon'>): string | undefined {
  if (!pod.socket) return undefined;
  return `qemu+unix:///${pod.daemon?.uid === 0 ? 'system' : 'session'}?socket=${pod.socket}`;
}

/** A URI of a pod's libvirt (podUri's form): what Ferry may only read. */
export const isPodUri = (uri: string) => /^qemu\+unix:\/\/\/(session|system)\?socket=\/proc\/\d+\/root\//.test(uri);

const SOCKET_UNDER_ROOT = { var: 'var/run/libvirt/virtqemud-sock', run: 'run/libvirt/virtqemud-sock' } as const;

/**
 * One scan's lines (a block up to its "@scan"): its pods, each with its running domain's status when the scan read
 * one. A line that is not a virt-launcher with a Kubernetes namespace and name is left out: the command line is the
 * launcher's own, whatever a process on the node writes there.
 */
export function parseScanBlock(lines: readonly string[]): KubevirtPod[] {
  const pods = new Map<number, KubevirtPod>();
  for (const line of lines) {
    const pod = parsePodLine(line);
    if (pod) pods.set(pod.launcherPid, pod);
  }
  for (const line of lines) {
    const f = line.split(' ');
    const pod = f[0] === 'dom' && f.length === 7 ? pods.get(num(f[1]) ?? 0) : undefined;
    if (!pod || !UID.test(f[2]) || !/^[a-z]+$/.test(f[3])) continue;
    pod.status = { uuid: f[2], state: f[3], reason: f[4], vcpus: num(f[5]), memoryKiB: num(f[6]) };
  }
  return [...pods.values()];
}

const num = (s: string) => (/^\d+$/.test(s) ? Number(s) : undefined);

/** One pod line of the scan; undefined unless it is a virt-launcher whose namespace and name Kubernetes allows. */
export function parsePodLine(line: string): KubevirtPod | undefined {
  const f = line.split(' ');
  if (f[0] !== 'pod' || f.length !== 14) return undefined;
  const [
    ,
    launcher,
    layout,
    daemon,
    daemonUid,
    restricted,
    qemu,
    qemuUid,
    capEff,
    proxy,
    argv0,
    namespace,
    vm,
    vmiUid,
  ] = f;
  const launcherPid = num(launcher);
  if (!launcherPid || argv0.split('/').pop() !== 'virt-launcher') return undefined;
  if (!NAMESPACE.test(namespace) || !VM_NAME.test(vm)) return undefined;
  const under = layout === 'var' || layout === 'run' ? SOCKET_UNDER_ROOT[layout] : undefined;
  const dPid = num(daemon);
  const dUid = num(daemonUid);
  const qPid = num(qemu);
  const qUid = num(qemuUid);
  return {
    launcherPid,
    namespace,
    vm,
    vmiUid: UID.test(vmiUid) ? vmiUid : undefined,
    socket: under ? `/proc/${launcherPid}/root/${under}` : undefined,
    daemon: dPid && dUid !== undefined ? { pid: dPid, uid: dUid } : undefined,
    restricted: restricted === '1',
    qemu: qPid && qUid !== undefined && /^[0-9a-f]{16}$/.test(capEff) ? { pid: qPid, uid: qUid, capEff } : undefined,
    migrationProxy: proxy === '1',
  };
}

/** `0x400` for /proc's 0000000000000400 */
export const formatCaps = (capsHex: string) => `0x${BigInt(`0x${capsHex}`).toString(16)}`;

/** What a user is told where they ask Ferry to act on a VM KubeVirt owns. */
export function kubevirtOwnsMessage(pod: Pick<KubevirtPod, 'namespace' | 'vm'>, action: string): string {
  return (
    `KubeVirt owns ${pod.namespace}/${pod.vm}: Ferry only watches it, and ${action} through libvirt would fight ` +
    `KubeVirt. Use \`virtctl migrate ${pod.vm} -n ${pod.namespace}\` to move it (\`kubectl delete vmim\` cancels), or ` +
    `change the VirtualMachine's spec (or the cluster's migration policy) for its resources and limits.`
  );
}

/** Why the pods of a DVP node cannot be read from it, and what would work. */
export function restrictedPodsMessage(pods: Pick<KubevirtPod, 'namespace' | 'vm' | 'launcherPid'>[]): string {
  const which = pods.map((p) => `${p.namespace}/${p.vm} (launcher ${p.launcherPid})`).join(', ');
  return (
    `${which}: this libvirt accepts only its own virt-launcher on its socket (DVP's LIBVIRT_UNIX_SOCKET_AUTH_PID) and ` +
    `has no read-only socket, so Ferry cannot read it from the node. The launcher's own socket would: ` +
    `\`vlctl -o json domain stats\` (launcher-sock under the pod's emptyDir "sockets").`
  );
}
