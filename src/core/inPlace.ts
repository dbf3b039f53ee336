/**
 * The in-place QEMU upgrade: a same-host live migration under stock libvirt. libvirt refuses a migration between two
 * daemons with the same host UUID, and the UUID is the daemon's, not the machine's; so a transient second daemon
 * (the shadow) with its own UUID, in a private mount namespace, takes the domain and gives it back: two hops, each
 * onto a new QEMU process from the installed binary. This is the model: what qualifies a host and a domain, and
 * what the host-side run (remote/scripts/inplace-run.sh) wrote in its log.
 */
import { XMLParser } from 'fast-xml-parser';
import { compareVersions } from './hostFacts';

/** the run's private folder on the host, made by mktemp */
export const INPLACE_RUN_DIR = /^\/run\/ferry-inplace\.[A-Za-z0-9]{10}$/;
/** the system daemon as the run reaches it: Ferry's libvirt URI must be this one for the hops to be same-host */
export const SYSTEM_URI = 'qemu:///system';
/** libvirt 5.0 dropped the hostname comparison of a migration's two sides; only the host UUIDs must differ since */
export const MIN_LIBVIRT = '5.0.0';

export type Daemon = 'libvirtd' | 'virtqemud';
/**
 * Each hop's max downtime, ms. On one host the memory moves fast, so a short one costs a pass or two more and
 * shortens the guest's pause: measured in the lab (400 MiB filled, idle), libvirt's downtime of a hop 362 ms at
 * QEMU's default 300, 24 ms at 50 (npm run bench -- upgrade prints the guest-visible pause).
 */
export const INPLACE_MAX_DOWNTIME_MS = 50;
/** postcopy in a hop: off, when it passes its 5th pass over memory (auto), or after its first pass (always) */
export type InPlacePostcopy = 'off' | 'auto' | 'always';
export const shadowUri = (runDir: string, daemon: Daemon) =>
  `qemu+unix:///system?socket=${runDir}/sock/${daemon === 'virtqemud' ? 'virtqemud-sock' : 'libvirt-sock'}`;
/** the virsh output of the run's Kth hop attempt (a hop that failed may be tried again) */
export const hopLog = (runDir: string, attempt: number) => `${runDir}/hop-${attempt}.log`;
export const runLog = (runDir: string) => `${runDir}/log`;

/** What the host probe (scripts/inplace-probe.sh) found; undefined fields were not readable. */
export interface InPlaceHostFacts {
  daemon?: Daemon;
  unshare: boolean;
  /** the system daemon's hook programs: they see the domain stop and start again, as in a round trip */
  hooks: string[];
  apparmorEnforcing: boolean;
  selinuxEnforcing: boolean;
  /** security_driver from qemu.conf, when set */
  securityDriver?: string;
  memAvailableKiB?: number;
  /** resident memory of the domain's QEMU: what a second copy of the guest takes while a hop runs */
  qemuRssKiB?: number;
  /** the domain's QEMU runs with huge pages: a second copy needs as many free huge pages again */
  hugePagesFreeKiB?: number;
}

export function parseInPlaceProbe(text: string): InPlaceHostFacts {
  const values = new Map<string, string>();
  // a line still being written (no newline yet) is not read: "ferry-exit=1" may be the start of "ferry-exit=12"
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  for (const line of complete.split('\n')) {
    const m = /^([a-z_]+)=(.*)$/.exec(line.trim());
    if (m) values.set(m[1], m[2]);
  }
  const num = (k: string) => {
    const v = values.get(k);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
  };
  const daemon = values.get('daemon');
  return {
    daemon: daemon === 'libvirtd' || daemon === 'virtqemud' ? daemon : undefined,
    unshare: values.get('unshare') === 'yes',
    hooks: (values.get('hooks') ?? '').split(' ').filter(Boolean),
    apparmorEnforcing: values.get('apparmor') === 'Y',
    selinuxEnforcing: values.get('selinux') === '1',
    securityDriver: values.get('security_driver') || undefined,
    memAvailableKiB: num('mem_available_kib'),
    qemuRssKiB: num('qemu_rss_kib'),
    hugePagesFreeKiB: num('hugepages_free_kib'),
  };
}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (name) => ['interface', 'graphics', 'hostdev', 'disk', 'tpm', 'filesystem', 'shmem'].includes(name),
});

type Node = Record<string, unknown>;
const nodes = (parent: unknown, name: string): Node[] =>
  typeof parent === 'object' && parent ? (((parent as Node)[name] as Node[] | undefined) ?? []) : [];
const attr = (node: unknown, name: string): string | undefined =>
  typeof node === 'object' && node ? ((node as Node)[`@${name}`] as string | undefined) : undefined;

/** libvirt's own names for the taps and macvtaps it creates: a new one per QEMU, so no clash between the two */
const AUTO_TAP = /^(vnet|macvtap|macvlan)\d+$/;

/** What in the domain's persistent definition would stop a second QEMU of it from starting beside the first. */
export interface DomainClashes {
  fixedTaps: string[];
  fixedPorts: string[];
  hostdevs: number;
  tpmEmulator: boolean;
  virtiofs: boolean;
  networks: string[];
  filterrefs: string[];
  secrets: number;
  hugePages: boolean;
}

export function domainClashes(inactiveXml: string): DomainClashes {
  const d = xml.parse(inactiveXml).domain as Node | undefined;
  if (!d) throw new Error('not a domain XML');
  const devices = d.devices ?? {};
  const interfaces = nodes(devices, 'interface');
  const disks = nodes(devices, 'disk');
  return {
    fixedTaps: interfaces
      .map((i) => attr(i.target, 'dev'))
      .filter((dev): dev is string => !!dev && !AUTO_TAP.test(dev)),
    fixedPorts: nodes(devices, 'graphics')
      .filter((g) => attr(g, 'autoport') !== 'yes' && Number(attr(g, 'port') ?? -1) > 0)
      .map((g) => `${attr(g, 'type')} ${attr(g, 'port')}`),
    hostdevs: nodes(devices, 'hostdev').length,
    tpmEmulator: nodes(devices, 'tpm').some((t) => attr(t.backend, 'type') === 'emulator'),
    virtiofs: nodes(devices, 'filesystem').some((f) => attr(f.driver, 'type') === 'virtiofs'),
    networks: interfaces.filter((i) => attr(i, 'type') === 'network').map((i) => attr(i.source, 'network') ?? '?'),
    filterrefs: interfaces.map((i) => attr(i.filterref, 'filter')).filter((f): f is string => !!f),
    secrets: disks.filter((k) => k.encryption || (k.source as Node | undefined)?.auth || k.auth).length,
    hugePages: typeof d.memoryBacking === 'object' && d.memoryBacking !== null && 'hugepages' in d.memoryBacking,
  };
}

export interface InPlaceCheck {
  ok: boolean;
  /** why not, each with what to change or which method applies instead */
  refusals: string[];
  /** what the user should know (hooks) */
  notes: string[];
}

/** Whether the in-place upgrade can move this domain on this host, and if not, why. */
export function checkInPlace(input: {
  uri: string;
  libvirtVersion?: string;
  host: InPlaceHostFacts;
  clashes: DomainClashes;
  domainMemoryKiB: number;
}): InPlaceCheck {
  const { host, clashes } = input;
  const refusals: string[] = [];
  const notes: string[] = [];
  if (input.uri !== SYSTEM_URI)
    refusals.push(`Ferry reaches libvirt as ${input.uri}; in place works with ${SYSTEM_URI} (ferry.libvirtUri)`);
  if (!input.libvirtVersion) refusals.push('the libvirt version could not be read');
  else if (compareVersions(input.libvirtVersion, MIN_LIBVIRT) < 0)
    refusals.push(
      `libvirt ${input.libvirtVersion} also compares host names, which one host cannot make differ: libvirt ${MIN_LIBVIRT} or later compares only host UUIDs`,
    );
  if (!host.daemon) refusals.push("no system libvirt daemon's socket in /run/libvirt (libvirt-sock or virtqemud-sock)");
  if (!host.unshare) refusals.push('unshare (util-linux) is not installed: the second daemon needs a mount namespace');
  if (host.apparmorEnforcing && (host.securityDriver ?? 'apparmor').includes('apparmor'))
    refusals.push(
      "AppArmor confines QEMU here: both QEMUs would share the profile libvirt-<uuid>, which the leaving one's teardown removes; not tried, so not offered (use the round trip)",
    );
  if (host.selinuxEnforcing && (host.securityDriver ?? 'selinux').includes('selinux'))
    refusals.push(
      "SELinux is enforcing: the second daemon picks its own MCS label and the leaving QEMU's daemon restores the images' labels under the new one; not tried, so not offered (use the round trip)",
    );
  if (clashes.fixedTaps.length)
    refusals.push(
      `fixed tap name${clashes.fixedTaps.length > 1 ? 's' : ''} ${clashes.fixedTaps.join(', ')}: the running QEMU holds ${clashes.fixedTaps.length > 1 ? 'them' : 'it'} while the new one starts; remove <target dev=…> from the interface so libvirt names it, or use the round trip`,
    );
  if (clashes.fixedPorts.length)
    refusals.push(
      `fixed display port ${clashes.fixedPorts.join(', ')}: the running QEMU still listens on it while the new one starts; set autoport='yes', or use the round trip`,
    );
  if (clashes.hostdevs)
    refusals.push(
      `${clashes.hostdevs} host device${clashes.hostdevs > 1 ? 's' : ''} passed through: a device cannot be opened by two QEMUs at once; detach it first, or use save and restore`,
    );
  if (clashes.tpmEmulator)
    refusals.push(
      'an emulated TPM: its swtpm state folder would be opened by two swtpm processes at once; use the round trip',
    );
  if (clashes.virtiofs) refusals.push('a virtiofs share: QEMU cannot live-migrate it; use save and restore');
  if (host.daemon === 'libvirtd') {
    if (clashes.networks.length)
      refusals.push(
        `interface on libvirt network ${clashes.networks.join(', ')}: a monolithic libvirtd keeps its network driver to itself, and a second copy would start the network twice; use <interface type='bridge'> with the network's bridge, or the round trip`,
      );
    if (clashes.filterrefs.length)
      refusals.push(
        `network filter ${clashes.filterrefs.join(', ')}: a monolithic libvirtd's filter driver cannot be shared, and a second copy would install the same firewall rules twice; use the round trip`,
      );
    if (clashes.secrets)
      refusals.push(
        `${clashes.secrets} disk${clashes.secrets > 1 ? 's' : ''} with a secret (encryption or auth): a monolithic libvirtd's secrets are not reachable from a second daemon; use the round trip`,
      );
  }
  const need = host.qemuRssKiB ?? input.domainMemoryKiB;
  if (clashes.hugePages) {
    if (host.hugePagesFreeKiB === undefined || host.hugePagesFreeKiB < input.domainMemoryKiB)
      refusals.push(
        `huge pages: a second copy of the guest needs ${Math.round(input.domainMemoryKiB / 1024)} MiB of free huge pages, ${Math.round((host.hugePagesFreeKiB ?? 0) / 1024)} MiB are free`,
      );
  } else if (host.memAvailableKiB === undefined) refusals.push('available memory could not be read');
  else if (host.memAvailableKiB < need * 1.1)
    refusals.push(
      `memory: a second copy of the guest (${Math.round(need / 1024)} MiB resident) needs more than the ${Math.round(host.memAvailableKiB / 1024)} MiB available; free some, or use the round trip`,
    );
  if (host.hooks.length)
    notes.push(
      `the system daemon's hooks (${host.hooks.join(', ')}) see the domain stop and start again, as in a round trip; the second daemon runs none`,
    );
  return { ok: refusals.length === 0, refusals, notes };
}

/** One attempt at a hop as the run's log tells it: started, ended with virsh's exit status. */
export interface HopAttempt {
  hop: 1 | 2;
  /** 1, 2, …: the attempt's place in the run (its log is hopLog(runDir, k)) */
  k: number;
  startedAt?: number;
  exit?: number;
  endedAt?: number;
}

export interface InPlaceLog {
  daemon?: Daemon;
  shadowPid?: number;
  phase: 'starting' | 'hop1' | 'hop2' | 'ended';
  attempts: HopAttempt[];
  postcopySwitched: number[];
  shadowRestarted: number;
  /** a run that left the domain under the shadow, whose daemon is gone too: its QEMU runs on, unmanaged */
  shadowStopped?: boolean;
  /** where the domain is when the run ended: under the system daemon, or left under the shadow */
  where?: 'system' | 'shadow';
  /** ferry-exit: 0 done, 10 the shadow did not start, 11 hop 1 failed, 12 left under the shadow */
  exit?: number;
  /** host time (ms since the epoch) the run started and ended: the whole operation, second daemon included */
  startedAt?: number;
  endedAt?: number;
  /** error lines (virsh's, the shadow's), for the message */
  errors: string[];
}

export function parseInPlaceLog(text: string): InPlaceLog {
  const log: InPlaceLog = {
    phase: 'starting',
    attempts: [],
    postcopySwitched: [],
    shadowRestarted: 0,
    errors: [],
  };
  // a line still being written (no newline yet) is not read: "ferry-exit=1" may be the start of "ferry-exit=12"
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  for (const line of complete.split('\n')) {
    const field = (k: string) => new RegExp(`(?:^| )${k}=(\\S+)`).exec(line)?.[1];
    const at = Number(field('at')) || undefined;
    let m: RegExpExecArray | null;
    if ((m = /^phase=(starting|hop1|hop2)\b/.exec(line))) {
      log.phase = m[1] as InPlaceLog['phase'];
      if (m[1] === 'starting') {
        log.startedAt = at;
        const d = field('daemon');
        if (d === 'libvirtd' || d === 'virtqemud') log.daemon = d;
      } else log.attempts.push({ hop: m[1] === 'hop1' ? 1 : 2, k: Number(field('k')), startedAt: at });
    } else if ((m = /^hop[12]=(\d+)/.exec(line))) {
      const attempt = log.attempts.find((a) => a.k === Number(field('k')));
      if (attempt) {
        attempt.exit = Number(m[1]);
        attempt.endedAt = at;
      }
    } else if ((m = /^shadow=(\d+)$/.exec(line))) log.shadowPid = Number(m[1]);
    else if ((m = /^postcopy-switched=(\d+)$/.exec(line))) log.postcopySwitched.push(Number(m[1]));
    else if (line === 'shadow-restarted') log.shadowRestarted++;
    else if ((m = /^where=(system|shadow)\b/.exec(line))) {
      log.where = m[1] as 'system' | 'shadow';
      if (field('shadow-alive') === 'no') log.shadowStopped = true;
    } else if ((m = /^ferry-exit=(\d+)\b/.exec(line))) {
      log.exit = Number(m[1]);
      log.endedAt = at;
      log.phase = 'ended';
    } else if (/^(error: |hop[12]: error: |shadow: .*error)/.test(line))
      log.errors.push(line.replace(/^(hop[12]|shadow): /, '').replace(/^error:\s*/, ''));
  }
  return log;
}
