/**
 * Migration benchmark: the same guest (400 MiB filled, then dirtying 100 MiB/s) migrated with `virsh migrate --live`
 * defaults, with Ferry's Fast profile, and with Fast while Ferry reads the job once a second instead of ~22 times
 * (quiet: what watching costs the migration where both hosts share two cores), alternating, 3 runs each; then the
 * floor: what QEMU itself reaches between
 * the same two hosts with no libvirt (lab/tools/bare-migrate.py: the same guest as a bare QEMU, one stream and multifd
 * with 1, 2 and 4 channels, with and without zero-copy, at Fast's max downtime, 3 rounds); raw TCP between the hosts
 * as the physical reference. Throughput = libvirt's own figure for the completed job (memory_bps, "Memory bandwidth"
 * in virsh domjobinfo; QEMU's ram mbps for the bare runs, which is where libvirt takes it from); job time = libvirt's
 * time elapsed, and for the bare runs the time from starting the incoming QEMU to completion. Each run prints its
 * downtime and the CPU seconds its QEMUs' threads used (lab/tools/threadcpu.py; for the libvirt runs from before
 * the launch to after Ferry saw the end, so the main thread's and the vCPU's include time outside the job).
 * Before it: fast_quiet_MiBps, fast_quiet_over_bare, fast_quiet_over_bare_same, fast_quiet_downtime_ms. Last line:
 *   migration: default_MiBps=… fast_MiBps=… bare_qemu_MiBps=… bare_channels=… fast_over_bare=… fast_job_over_bare=…
 *              fast_over_default=… default_downtime_ms=… fast_downtime_ms=… bare_downtime_ms=… raw_tcp_MiBps=…
 */
import { spawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { isMigrationMain, isRecvThread, isSendThread } from '../src/core/diagnosis';
import { jobInfoArgv, parseJobStats, PROFILES, targetUri, UNLIMITED_BANDWIDTH_MIBPS } from '../src/core/migration/job';
import { MigrationRunner } from '../src/services/migration';
import { silentLogger } from '../src/transport/logger';
import { guestPage, lab, labRegistry, memoryStore, runScript } from '../test/integration/lab';

const URI = 'qemu:///system';
const [A, B] = lab.hosts.map((h) => h.alias);
const guest = (path: string) => guestPage(lab.guests.tiny1.ip, path);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const TOOLS = join(__dirname, '..', '..', 'lab', 'tools');
const MiB = 1048576;
const GAP_MS = 5000;
const QUIET_SAMPLE_INTERVAL_MS = 1000;
const KINDS = ['default', 'fast', 'quiet'] as const;
type Kind = (typeof KINDS)[number];

type ThreadSeconds = Record<string, number>;
type QemuCpu = { source?: ThreadSeconds; target?: ThreadSeconds };

/** CPU seconds per thread of the domain's QEMUs (source, and the target's once it starts) until the returned stop() */
async function sampleThreads(uuid: string): Promise<() => Promise<QemuCpu>> {
  const child = spawn('python3', [join(TOOLS, 'threadcpu.py'), uuid], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  if ((await lines.next()).value !== 'polling') throw new Error('threadcpu.py did not start');
  return async () => {
    child.stdin.end();
    const { value } = await lines.next();
    return JSON.parse(value as string) as QemuCpu;
  };
}

/** "migration 0.26 send 4×0.04 vCPU 0.05": CPU seconds per thread (the mean of a group of them) */
function cpuSeconds(threads: ThreadSeconds | undefined): string {
  if (!threads) return 'not seen';
  const group = (label: string, is: (name: string) => boolean) => {
    const xs = Object.entries(threads).filter(([n]) => is(n));
    return xs.length
      ? [`${label} ${xs.length > 1 ? `${xs.length}×` : ''}${mean(xs.map(([, s]) => s)).toFixed(2)}`]
      : [];
  };
  return [
    ...group('migration', isMigrationMain),
    // the main thread, named after QEMU's binary: a single stream's receiver on the target
    ...group('main', (n) => n.startsWith('qemu-system')),
    ...group('send', isSendThread),
    ...group('recv', isRecvThread),
    ...group('vCPU', (n) => /^CPU \d+\//.test(n)),
  ].join(' ');
}

interface BareRun {
  channels: number;
  zero_copy: boolean;
  from: string;
  to: string;
  downtime_ms: number;
  /** QEMU's total-time: from the migrate command to completion */
  total_ms: number;
  wall_ms: number;
  memory_bps: number;
  transferred: number;
  iterations: number;
  cpu: { source: ThreadSeconds; target: ThreadSeconds };
}
const setting = (r: { channels: number; zero_copy: boolean }) =>
  `${r.channels ? `multifd ${r.channels}` : 'one stream'}${r.zero_copy ? ' zero-copy' : ''}`;

async function main() {
  const registry = await labRegistry([A, B]);
  // one runner a run, as Ferry watches: it follows the defaults' plain virsh migrate too (from its events). For quiet
  // runs, only a runner reading the job once a second: a second runner would follow that migration at full rate
  const watcherFor = (kind: Kind) =>
    new MigrationRunner(
      registry,
      memoryStore(),
      { libvirtUri: URI, sampleIntervalMs: kind === 'quiet' ? QUIET_SAMPLE_INTERVAL_MS : undefined },
      silentLogger,
    );
  const exec = (alias: string, argv: string[]) => registry.get(alias)!.connection.exec(argv, { timeoutMs: 300_000 });
  const whereIs = async () => ((await exec(A, ['virsh', '-q', 'list', '--name'])).stdout.includes('tiny1') ? A : B);
  const home = await whereIs();
  const uuid = (await exec(home, ['virsh', '-q', 'domuuid', 'tiny1'])).stdout.trim();
  /** `virsh migrate --live` with libvirt's defaults, as a user types it */
  const plainMigrate = async (from: string, to: string) => {
    const r = await exec(from, [
      'virsh',
      '-q',
      '-c',
      URI,
      'migrate',
      '--live',
      uuid,
      targetUri(await registry.resolve(to)),
    ]);
    if (r.code !== 0) throw new Error(`virsh migrate ${from} → ${to}: ${r.stderr}`);
  };

  // libvirt's default is no cap; a cap set by an earlier migration stays with the domain, so restore the default
  await exec(await whereIs(), ['virsh', '-q', '-c', URI, 'migrate-setspeed', uuid, UNLIMITED_BANDWIDTH_MIBPS]);
  guest('/cgi-bin/dirty?mb=400&rate=100');
  await new Promise((r) => setTimeout(r, 5000)); // the first pass fills all 400 MiB

  const results: Record<Kind, number[]> = { default: [], fast: [], quiet: [] };
  const jobMs: Record<Kind, number[]> = { default: [], fast: [], quiet: [] };
  const downtimeMs: Record<Kind, number[]> = { default: [], fast: [], quiet: [] };
  for (let run = 0; run < 3; run++) {
    for (const kind of KINDS) {
      const from = await whereIs();
      const to = from === A ? B : A;
      // seconds apart, as the bare runs are: on this lab (itself a VM) a QEMU started on memory just freed receives
      // several times faster than one whose memory comes back from the hypervisor (see lab/tools/bare-migrate.py)
      await new Promise((r) => setTimeout(r, GAP_MS));
      const watcher = watcherFor(kind);
      const stopSampling = await sampleThreads(uuid);
      if (kind === 'default') {
        await plainMigrate(from, to);
      } else {
        const { done } = await watcher.start({
          sourceAlias: from,
          targetAlias: to,
          domainUuid: uuid,
          domainName: 'tiny1',
          options: PROFILES.fast.options,
        });
        const end = await done;
        if (end.phase !== 'completed') throw new Error(`${kind} migration ${end.phase}: ${end.error}`);
      }
      watcher.dispose();
      // every kind's completed job read where the domain now runs: a source where it was transient keeps no domain,
      // and libvirt works a job's time out where it is read (each side its own end of the job)
      const completed = await exec(to, [...jobInfoArgv(URI, uuid, true)]);
      const stats = parseJobStats(completed.stdout);
      if (completed.code !== 0 || stats.type !== 'completed')
        throw new Error(`${kind}: no completed job on ${to}: ${completed.stderr || completed.stdout}`);
      const cpu = await stopSampling();
      const mibps = stats.memoryBps! / MiB;
      const perTime = stats.dataProcessed! / MiB / (stats.timeElapsedMs! / 1000);
      results[kind].push(mibps);
      jobMs[kind].push(stats.timeElapsedMs!);
      downtimeMs[kind].push(stats.downtimeMs!);
      console.log(
        `${kind.padEnd(7)} ${from}→${to}: memory_bps ${mibps.toFixed(0)} MiB/s; ${(stats.dataProcessed! / MiB).toFixed(0)} MiB in ${stats.timeElapsedMs} ms (${perTime.toFixed(0)} MiB/s), downtime_ms=${stats.downtimeMs}, ${stats.iteration} iterations`,
      );
      console.log(`        cpu s: source ${cpuSeconds(cpu.source)} | target ${cpuSeconds(cpu.target)}`);
    }
  }
  // back where it started: a plain virsh migrate leaves the source's definition behind (shut off), and a domain
  // running on the other host beside it invites whatever comes next to start it twice
  const away = await whereIs();
  if (away !== home) await plainMigrate(away, home);
  const status = guest('/cgi-bin/status');
  console.log(`guest after ${3 * KINDS.length} migrations: ${status.trim()}`);
  if (!/verify_errors=0/.test(status)) throw new Error('the guest found lost writes');
  guest('/cgi-bin/dirty?rate=-1');

  // raw TCP, hostA -> hostB over the management network: 2 GiB through one connection
  const [bAddr] = [lab.hosts[1].address];
  const server = registry
    .get(B)!
    .connection.exec(
      [
        'python3',
        '-c',
        'import socket;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind((__import__("sys").argv[1],5201));s.listen(1);c,_=s.accept()\nwhile c.recv(1<<20): pass',
        bAddr,
      ],
      { timeoutMs: 120_000 },
    );
  await new Promise((r) => setTimeout(r, 1500));
  const client = await exec(A, [
    'python3',
    '-c',
    'import socket,sys,time;s=socket.create_connection((sys.argv[1],5201));b=bytes(1<<20);t=time.time()\nfor _ in range(2048): s.sendall(b)\ns.shutdown(socket.SHUT_WR);s.recv(1);print(2048/(time.time()-t))',
    bAddr,
  ]);
  await server;
  const raw = Number(client.stdout.trim());
  console.log(`raw TCP ${A}→${B}: ${raw.toFixed(0)} MiB/s`);

  // the floor: the same guest as a bare QEMU between the same hosts, at the max downtime Fast asks for
  const fastDowntimeLimit = PROFILES.fast.options.maxDowntimeMs!;
  const bareOut = execFileSync(
    'python3',
    [
      join(TOOLS, 'bare-migrate.py'),
      '--channels',
      '0,1,2,4',
      '--zero-copy',
      '--rounds',
      '3',
      '--downtime-limit',
      `${fastDowntimeLimit}`,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LAB: lab.lab } },
  );
  const bareLines = bareOut
    .split('\n')
    .filter((l) => l.startsWith('{')) // its JSON lines; anything else a child printed is not a result
    .map((l) => JSON.parse(l) as BareRun | { guest: string });
  const bare = bareLines.filter((r): r is BareRun => 'channels' in r);
  for (const r of bare) {
    console.log(
      `bare    ${r.from}→${r.to} ${setting(r)}: ${(r.memory_bps / MiB).toFixed(0)} MiB/s; ${(r.transferred / MiB).toFixed(0)} MiB in ${r.wall_ms} ms, downtime_ms=${r.downtime_ms}, ${r.iterations} iterations`,
    );
    console.log(`        cpu s: source ${cpuSeconds(r.cpu.source)} | target ${cpuSeconds(r.cpu.target)}`);
  }
  console.log(
    `bare guest after ${bare.length} migrations: ${bareLines.map((l) => ('guest' in l ? l.guest : '')).join('')}`,
  );
  const bySetting = new Map<string, BareRun[]>();
  for (const r of bare) bySetting.set(setting(r), [...(bySetting.get(setting(r)) ?? []), r]);
  const bareSummary = [...bySetting].map(([name, runs]) => ({
    name,
    mibps: mean(runs.map((r) => r.memory_bps / MiB)),
    jobMs: mean(runs.map((r) => r.wall_ms)),
    qemuMs: mean(runs.map((r) => r.total_ms)),
    downtimeMs: mean(runs.map((r) => r.downtime_ms)),
  }));
  for (const b of bareSummary)
    console.log(
      `bare ${b.name}: ${b.mibps.toFixed(0)} MiB/s, job ${b.jobMs.toFixed(0)} ms (QEMU's ${b.qemuMs.toFixed(0)}), downtime ${b.downtimeMs.toFixed(0)} ms (mean of ${bySetting.get(b.name)!.length}, downtime-limit ${fastDowntimeLimit} ms)`,
    );
  const best = bareSummary.reduce((a, b) => (b.mibps > a.mibps ? b : a));
  const sameAsFast = bareSummary.find((b) => b.name === `multifd ${PROFILES.fast.options.parallelConnections}`)!;

  // the time to move the domain is what a user waits for; fewer passes over dirty memory shorten it too.
  // fast_job_over_bare is a speed ratio like fast_over_bare: the bare job's time over Fast's
  console.log(
    `job time: default_ms=${mean(jobMs.default).toFixed(0)} fast_ms=${mean(jobMs.fast).toFixed(0)} quiet_ms=${mean(jobMs.quiet).toFixed(0)} bare_ms=${best.jobMs.toFixed(0)} default_over_fast=${(mean(jobMs.default) / mean(jobMs.fast)).toFixed(2)}`,
  );
  console.log(
    `fast against bare QEMU with its own setting (${sameAsFast.name}): fast_over_bare_same=${(mean(results.fast) / sameAsFast.mibps).toFixed(2)}`,
  );
  const q = mean(results.quiet);
  console.log(
    `fast read once a second: fast_quiet_MiBps=${q.toFixed(0)} fast_quiet_over_bare=${(q / best.mibps).toFixed(2)} fast_quiet_over_bare_same=${(q / sameAsFast.mibps).toFixed(2)} fast_quiet_downtime_ms=${downtimeMs.quiet.join('/')}`,
  );
  const d = mean(results.default);
  const f = mean(results.fast);
  console.log(
    `migration: default_MiBps=${d.toFixed(0)} fast_MiBps=${f.toFixed(0)} bare_qemu_MiBps=${best.mibps.toFixed(0)} bare_channels="${best.name}" fast_over_bare=${(f / best.mibps).toFixed(2)} fast_job_over_bare=${(best.jobMs / mean(jobMs.fast)).toFixed(2)} fast_over_default=${(f / d).toFixed(2)} default_downtime_ms=${downtimeMs.default.join('/')} fast_downtime_ms=${downtimeMs.fast.join('/')} bare_downtime_ms=${best.downtimeMs.toFixed(0)} raw_tcp_MiBps=${raw.toFixed(0)}`,
  );
  registry.dispose();
}

runScript(main);
