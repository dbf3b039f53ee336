/**
 * Sampling benchmark: during a throttled lab migration (tiny1 dirtying faster than a 10 MiB/s cap, so it runs until
 * aborted), Ferry's persistent job reader (one interactive virsh, a query per sample) against one
 * `virsh domjobinfo --rawstats` process per sample over SSH exec, both paced as Ferry paces them (the next ask once
 * answered, at most every MIN_SAMPLE_INTERVAL_MS), alternating in 10 s rounds in the same run. Latency: query sent → answer parsed. Host CPU: hostA's cgroup minus its QEMU's (the
 * sshd, shell, virsh and libvirtd work of sampling), per 1000 samples. Last line:
 *   sampling: persistent_hz=<n> persistent_p99_ms=<n> persistent_busy=<hz × p50> spawn_… host_cpu_ms_per_1k_persistent=<n> …
 */
import { readFileSync } from 'node:fs';
import { isActiveJob, jobInfoArgv, parseJobStats, UNLIMITED_BANDWIDTH_MIBPS } from '../src/core/migration/job';
import { JobReader } from '../src/services/jobSampler';
import { MIN_SAMPLE_INTERVAL_MS } from '../src/services/migration/watch';
import { guestPage, lab, labRegistry, runScript, tiny1 } from '../test/integration/lab';

const URI = 'qemu:///system';
const ROUND_MS = 10_000;
const INTERVAL_MS = MIN_SAMPLE_INTERVAL_MS; // the migration runner's pacing
const ROUNDS = 2;
const guest = (path: string) => guestPage(lab.guests.tiny1.ip, path);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/** CPU ns used on a lab host outside its guests: the host's cgroup minus the machine (QEMU) subtree */
function hostCpuNs(alias: string): number {
  const base = `/sys/fs/cgroup/cpuacct/lab-ferry-${alias}`;
  return (
    Number(readFileSync(`${base}/cpuacct.usage`, 'utf8')) -
    Number(readFileSync(`${base}/machine/cpuacct.usage`, 'utf8'))
  );
}

async function main() {
  const [A, B] = lab.hosts.map((h) => h.alias);
  const registry = await labRegistry([A, B]);
  const exec = (alias: string, argv: readonly string[]) =>
    registry.get(alias)!.connection.exec(argv, { timeoutMs: 120_000 });
  tiny1.ensureOnA();
  const uuid = (await exec(A, ['virsh', '-q', 'domuuid', 'tiny1'])).stdout.trim();
  guest('/cgi-bin/dirty?mb=200&rate=40');
  await sleep(4000);
  // a migration that cannot converge: the guest dirties 40 MiB/s, the cap is 10
  const migration = exec(A, [
    'virsh',
    '-q',
    'migrate',
    '--live',
    '--p2p',
    '--bandwidth',
    '10',
    uuid,
    `qemu+ssh://root@${lab.hosts[1].address}/system?no_tty=1`,
  ]);
  for (let i = 0; i < 50 && !isActiveJob(parseJobStats((await exec(A, jobInfoArgv(URI, uuid))).stdout)); i++)
    await sleep(200);

  const results = {
    persistent: { n: 0, ms: 0, latencies: [] as number[], cpuNs: 0 },
    spawn: { n: 0, ms: 0, latencies: [] as number[], cpuNs: 0 },
  };
  const connection = registry.get(A)!.connection;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of ['persistent', 'spawn'] as const) {
        const r = results[kind];
        const reader = kind === 'persistent' ? await JobReader.open(connection, URI, uuid) : undefined;
        const cpuBefore = hostCpuNs(A);
        const started = performance.now();
        while (performance.now() - started < ROUND_MS) {
          const asked = performance.now();
          let stats;
          if (reader) stats = (await reader.read()).stats;
          else stats = parseJobStats((await connection.exec(jobInfoArgv(URI, uuid))).stdout);
          r.latencies.push(performance.now() - asked);
          if (!isActiveJob(stats)) throw new Error('the migration ended during the benchmark');
          r.n++;
          await sleep(INTERVAL_MS - (performance.now() - asked));
        }
        r.ms += performance.now() - started;
        r.cpuNs += hostCpuNs(A) - cpuBefore;
        reader?.close();
        console.log(`round ${round + 1} ${kind}: ${r.n} samples so far`);
      }
    }
  } finally {
    await exec(A, ['virsh', '-q', 'domjobabort', uuid]);
    await migration;
    await exec(A, ['virsh', '-q', 'migrate-setspeed', uuid, UNLIMITED_BANDWIDTH_MIBPS]);
    guest('/cgi-bin/dirty?mb=1&rate=idle');
  }
  const line: string[] = [];
  const cpu: string[] = [];
  for (const kind of ['persistent', 'spawn'] as const) {
    const r = results[kind];
    const hz = (r.n / r.ms) * 1000;
    const p50 = percentile(r.latencies, 50);
    const p99 = percentile(r.latencies, 99);
    const cpuPer1k = r.cpuNs / 1e6 / (r.n / 1000);
    console.log(
      `${kind}: ${r.n} samples, ${hz.toFixed(1)} Hz, latency p50 ${p50.toFixed(1)} ms p99 ${p99.toFixed(1)} ms, host CPU ${cpuPer1k.toFixed(0)} ms per 1000 samples`,
    );
    // hz × p50 near 1: the reader keeps libvirt busy, with no idle gap between a reading and the next question
    line.push(
      `${kind}_hz=${hz.toFixed(1)} ${kind}_p99_ms=${p99.toFixed(1)} ${kind}_busy=${((hz * p50) / 1000).toFixed(2)}`,
    );
    cpu.push(`host_cpu_ms_per_1k_${kind}=${cpuPer1k.toFixed(0)}`);
  }
  const ratio = results.spawn.cpuNs / results.spawn.n / (results.persistent.cpuNs / results.persistent.n);
  console.log(`host CPU per sample: spawn / persistent = ${ratio.toFixed(1)}×`);
  console.log(`sampling: ${line.join(' ')} ${cpu.join(' ')}`);
  registry.dispose();
}

runScript(main);
