/** The lab as the integration tests see it: its description (lab.json), and shells on its hosts. */
import { waitFor } from '../support/waitFor';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostConnectionOptions } from '../../src/transport/hostConnection';
import { HostConnection } from '../../src/transport/hostConnection';
import type { Logger } from '../../src/transport/logger';
import { DEFAULT_LIBVIRT_URI as LIBVIRT_URI } from '../../src/core/virsh';
import { HostRegistry } from '../../src/services/hostRegistry';
import type { MigrationRecord } from '../../src/core/migration/record';
import type { MigrationStore } from '../../src/services/migration';
import { silentLogger } from '../../src/transport/logger';
import { resolveHost } from '../../src/transport/sshConfig';

export interface LabDescription {
  lab: string;
  /** Ferry's: user 'ferry' (uid 0), whose login shell is bash, fish or tcsh depending on the host */
  sshConfig: string;
  /** the tests' "other shell": root, bash */
  rootSshConfig: string;
  loginShells: Record<string, string>;
  knownHosts: string;
  identity: string;
  clientNetns: string;
  guestNet: string;
  mgmtNet: string;
  hosts: { alias: string; letter: string; address: string; uuid: string }[];
  guests: Record<string, { host: string; ip: string }>;
  hostileDomain: { name: string; host: string; ip: string };
}

const LAB_DIR = process.env.LAB ?? '/var/lib/ferry-lab';
const REPO = process.cwd(); // vitest runs from the repository root

export function loadLab(): LabDescription {
  try {
    return JSON.parse(readFileSync(join(LAB_DIR, 'lab.json'), 'utf8')) as LabDescription;
  } catch (e) {
    throw new Error(`the lab is not up (${(e as Error).message}); run: npm run lab -- up`);
  }
}

export const lab = loadLab();

/** Run a shell command on a lab host as root, in bash (the "other shell" of the tests). */
/** the QEMU binary the lab's <emulator> wrapper execs (lab/install-deps.sh): what an upgrade test replaces */
export const labQemu = () => `${lab.lab}/qemu-bpo/usr/bin/qemu-system-x86_64`;

export function onHost(alias: string, command: string): string {
  return execFileSync('ssh', ['-F', lab.rootSshConfig, '-o', 'BatchMode=yes', alias, command], { encoding: 'utf8' });
}

/** The same, without blocking the event loop (so Ferry's event handling runs meanwhile). */
export function onHostAsync(alias: string, command: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('ssh', ['-F', lab.rootSshConfig, '-o', 'BatchMode=yes', alias, command], { encoding: 'utf8' }, (e, out) =>
      e ? reject(e) : resolve(out),
    ),
  );
}

export function labCtl(...args: string[]): string {
  return execFileSync('bash', [join(REPO, 'lab', 'lab.sh'), ...args], { encoding: 'utf8' });
}

/** Log lines collected per test, so a failure shows what Ferry ran. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const add = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  return { lines, trace: add('trace'), debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
}

export function labConnection(
  alias: string,
  options: Partial<HostConnectionOptions> = {},
  sshConfig = lab.sshConfig,
  log = memoryLogger(),
): HostConnection {
  return new HostConnection(
    alias,
    { resolve: (a) => resolveHost(a, sshConfig), connectTimeoutMs: 5000, keepaliveIntervalMs: 2000, ...options },
    log,
  );
}

export { waitFor };

/** A page of a guest's own web server (e.g. `/cgi-bin/status`), read from the client namespace. */
export function guestPage(ip: string, path: string): string {
  const url = `http://${ip}${path}`;
  return execFileSync('ip', ['netns', 'exec', lab.clientNetns, 'timeout', '5', 'busybox', 'wget', '-qO-', url], {
    encoding: 'utf8',
  });
}

/** The guest's own status page: "host=… verify_errors=N conns=N". */
export function guestStatus(ip: string): string {
  return guestPage(ip, '/cgi-bin/status');
}

export function guestDirty(ip: string, mb: number, rateMiBps: number | 'idle'): void {
  guestPage(ip, `/cgi-bin/dirty?mb=${mb}&rate=${rateMiBps}`);
}

/**
 * Take a host's management link (SSH and the migration stream) down for `seconds`, from this machine into the host's
 * namespace: down before this returns, up again by a detached process. (Asked of the host over SSH, the cut could
 * come before the SSH session carried its exit back, which then arrived only once the link was up again.)
 */
export async function dropLink(alias: string, seconds: number): Promise<void> {
  const host = lab.hosts.find((h) => h.alias === alias)!;
  const netns = lab.clientNetns.replace(/client$/, `host${host.letter}`);
  execFileSync('ip', ['-n', netns, 'link', 'set', 'eth0', 'down']);
  spawn('sh', ['-c', 'sleep "$1"; ip -n "$2" link set eth0 up', 'ferry-link-up', String(seconds), netns], {
    detached: true,
    stdio: 'ignore',
  }).unref();
}

/** guestDirty, then wait until the guest has written every page once (its status says filled=MB). */
export async function guestFilled(ip: string, mb: number, rateMiBps: number | 'idle'): Promise<void> {
  guestDirty(ip, mb, rateMiBps);
  await waitFor(`the guest's ${mb} MiB filled`, () => guestStatus(ip).includes(` filled=${mb} `), 60_000);
}

/**
 * Hold N echo connections to a guest from the client namespace while `during` runs; resolves with the counts.
 * A round counts a connection whose echo returns within replyTimeoutS: across a switchover an echo may wait out
 * TCP's retransmission backoff (RTO 200 ms, doubling: resent after 0.2, 0.6, 1.4, 3.0, 6.2 s), which is a
 * delay, not a lost connection; a dropped connection never answers again.
 */
export async function holdEchoConnections<T>(
  ip: string,
  n: number,
  during: () => Promise<T>,
  replyTimeoutS = 1,
): Promise<{ result: T; minOk: number; lastOk: number; rounds: number; output: string }> {
  const { spawn } = await import('node:child_process');
  const seconds = 600;
  const child = spawn('ip', [
    'netns',
    'exec',
    lab.clientNetns,
    'python3',
    join(REPO, 'lab', 'tools', 'echo-hold.py'),
    ip,
    '7',
    String(n),
    String(seconds),
    String(replyTimeoutS),
  ]);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  await waitFor('the echo connections to open', () => output.includes('opened'), 10_000);
  try {
    const result = await during();
    // one more complete round after the move (a stalled one takes replyTimeoutS per connection), then the verdict
    const rounds = () => [...output.matchAll(/round \d+: (\d+)\/\d+/g)].map((m) => Number(m[1]));
    const after = rounds().length + 2; // the round under way when the move ended, and one wholly after it
    await waitFor('an echo round after the move', () => rounds().length >= after, 200_000);
    const counts = rounds();
    return { result, minOk: Math.min(...counts), lastOk: counts[counts.length - 1], rounds: counts.length, output };
  } finally {
    child.kill('SIGTERM');
  }
}

/** tiny1, the lab's migrating guest: its UUID, the host it runs on, and putting it back on hostA */
export const tiny1 = {
  uuid: () =>
    onHost(lab.hosts[0].alias, 'virsh -q domuuid tiny1 2>/dev/null || true').trim() ||
    onHost(lab.hosts[1].alias, 'virsh -q domuuid tiny1').trim(),
  whereIs: (): string | undefined =>
    lab.hosts.slice(0, 2).find((h) => onHost(h.alias, 'virsh -q list --name').includes('tiny1'))?.alias,
  /** every migration test starts with tiny1 running on A (a failed test may have left it elsewhere) */
  ensureOnA(): void {
    const [a, b] = lab.hosts;
    if (tiny1.whereIs() === b.alias)
      onHost(
        b.alias,
        `virsh -q migrate --live --p2p --persistent --undefinesource tiny1 'qemu+ssh://root@${a.address}/system?no_tty=1'`,
      );
    if (!tiny1.whereIs()) onHost(a.alias, 'virsh -q start tiny1');
  },
};

/** A migration store that keeps finished runs in memory, for the runner under test (a run stored again replaces itself). */
export function memoryStore(): MigrationStore & { history: MigrationRecord[] } {
  const history: MigrationRecord[] = [];
  return {
    history,
    loadActive: () => [],
    saveActive: async () => {},
    addToHistory: async (r) => {
      const at = history.findIndex((h) => h.id === r.id);
      if (at >= 0) history[at] = r;
      else history.push(r);
    },
    operationRun: async (uuid, op) => history.find((h) => h.domainUuid === uuid && h.operationId === op),
  };
}

/** For scripts (benchmarks, fixture recording): a registry of lab hosts, connected, their inventories read. */
export async function labRegistry(aliases: string[], keepaliveIntervalMs = 5000): Promise<HostRegistry> {
  const registry = new HostRegistry(
    {
      connection: { connectTimeoutMs: 10_000, keepaliveIntervalMs },
      settings: { sshConfigPath: lab.sshConfig, libvirtUri: LIBVIRT_URI },
    },
    silentLogger,
  );
  registry.setHosts(aliases);
  await Promise.all(aliases.map((a) => registry.get(a)!.connection.connect(false)));
  await Promise.all(aliases.map((a) => registry.get(a)!.refresh()));
  return registry;
}

/** A script's entry point: exit 0 when main resolves, else print the error and exit 1 (open SSH links would keep node alive). */
export function runScript(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}

export interface GuestStream {
  /** the per-interval rates so far: stream time (s) and Mbit/s echoed back */
  intervals(): { t: number; mbps: number }[];
  /** resolves with the average over the whole stream */
  done: Promise<{ mbps: number; output: string }>;
}

/**
 * A TCP stream from the client namespace into a guest's echo server (lab/tools/stream.py), for `seconds`: the echo
 * rate is the guest's inbound rate (the way back is its outbound, unshaped here).
 */
export function streamToGuest(ip: string, seconds: number, intervalS = 0.5): GuestStream {
  let output = '';
  const child = execFile(
    'ip',
    [
      'netns',
      'exec',
      lab.clientNetns,
      'python3',
      join(REPO, 'lab', 'tools', 'stream.py'),
      ip,
      '7000',
      String(seconds),
      String(intervalS),
    ],
    { encoding: 'utf8', timeout: (seconds + 30) * 1000 },
  );
  child.stdout!.on('data', (d: string) => (output += d));
  const done = new Promise<{ mbps: number; output: string }>((resolve, reject) =>
    child.on('close', (code) => {
      const mbps = /^mbps=([\d.]+)/m.exec(output)?.[1];
      if (code === 0 && mbps) resolve({ mbps: Number(mbps), output });
      else reject(new Error(`stream.py ended with ${code}: ${output}`));
    }),
  );
  return {
    intervals: () =>
      [...output.matchAll(/^t=([\d.]+) mbps=([\d.]+)$/gm)].map((m) => ({ t: Number(m[1]), mbps: Number(m[2]) })),
    done,
  };
}

const xmlText = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/'/g, '&apos;')
    .replace(/"/g, '&quot;')
    .replace(/\r/g, '&#13;');
/** a tiny disk-less, network-less domain on the lab's emulator path: enough to define, start and stop */
export const scratchDomainXml = (
  uuid: string,
  name: string,
) => `<domain type='qemu'><name>${xmlText(name)}</name><uuid>${uuid}</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><kernel>/var/lib/libvirt/boot/tiny-vmlinux</kernel><initrd>/var/lib/libvirt/boot/tiny-initrd.gz</initrd><cmdline>console=ttyS0 quiet</cmdline></os><features><acpi/></features>
<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>`;
