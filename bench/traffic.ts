/**
 * Traffic view benchmark: "Show Interface Traffic" on tiny1's tap as the panel streams it (one channel, a reading
 * every 250 ms on the host's clock), while a TCP stream runs into the guest, for VIEW_S seconds after the first
 * reading. Three runs. Per run:
 *   traffic: hz=<readings a second> p99_ms=<99th percentile of a reading's age when it reaches Ferry>
 *            procs_per_min=<processes started on the host under the stream, per minute of viewing, after the first>
 * The age is the arrival time less the host's clock at the reading: the lab's hosts share this machine's clock. The
 * processes are counted from the kernel's process events (lab/tools/forks.py), none missed however short it lives.
 * Goals: hz ≥ 4, p99_ms ≤ 100, procs_per_min = 0.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QosService } from '../src/services/qos';
import { TRAFFIC_INTERVAL_MS } from '../src/core/traffic';
import { streamTraffic } from '../src/services/traffic';
import { lab, labConnection, runScript, streamToGuest, tiny1, waitFor } from '../test/integration/lab';

const VIEW_S = 30;
const RUNS = 3;
const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const FORKS = join(__dirname, '..', '..', 'lab', 'tools', 'forks.py');

/** the stream's bash on the host (the lab's hosts share this machine's process table) */
function streamPid(device: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[0] === 'bash' && argv.includes('ferry-traffic') && argv.includes(device)) return Number(entry);
    } catch {
      // a process that ended meanwhile
    }
  }
  throw new Error(`no traffic stream of ${device} among the processes`);
}

/** counts the processes started under `pid` until stop() */
async function countForks(pid: number): Promise<{ stop(): Promise<number> }> {
  const child = spawn('python3', [FORKS, String(pid)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  await waitFor('the process-event listener', () => out.includes('listening'), 10_000);
  return {
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      await exited;
      const m = /forks=(\d+)/.exec(out);
      if (!m) throw new Error(`forks.py printed ${JSON.stringify(out)}`);
      return Number(m[1]);
    },
  };
}

const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.99) - 1];

async function main() {
  tiny1.ensureOnA();
  const host = labConnection(lab.hosts[0].alias);
  await host.connect(false);
  const qos = new QosService({ libvirtUri: 'qemu:///system' }, silent);
  const [iface] = await qos.interfaces(host, tiny1.uuid(), true);
  const device = iface.device!;
  try {
    for (let run = 1; run <= RUNS; run++) {
      const into = streamToGuest(lab.guests.tiny1.ip, VIEW_S + 5);
      const ages: number[] = [];
      let first = false;
      let viewing = false;
      let txBytes = 0;
      const stream = await streamTraffic(host, device, TRAFFIC_INTERVAL_MS, (reading) => {
        first = true;
        if (viewing) ages.push(Date.now() - reading.atMs);
        txBytes = reading.kernel.txBytes ?? 0; // into the guest: to show there was traffic to watch
      });
      try {
        await waitFor('the first reading', () => first, 10_000);
        const forks = await countForks(streamPid(device));
        const txBefore = txBytes;
        viewing = true;
        const from = performance.now();
        await new Promise((r) => setTimeout(r, VIEW_S * 1000));
        viewing = false;
        const seconds = (performance.now() - from) / 1000;
        const started = await forks.stop();
        console.log(
          `traffic: hz=${(ages.length / seconds).toFixed(2)} p99_ms=${p99(ages).toFixed(1)} procs_per_min=${((started * 60) / seconds).toFixed(1)} readings=${ages.length} seconds=${seconds.toFixed(1)} into_guest_mbps=${(((txBytes - txBefore) * 8) / 1e6 / seconds).toFixed(2)} run=${run}/${RUNS}`,
        );
      } finally {
        stream.close();
        const why = await stream.ended;
        if (why) console.log(`traffic: the stream ended by itself: ${why}`);
        await into.done.catch((e: Error) => console.log(`traffic: the guest stream: ${e.message}`));
      }
    }
  } finally {
    host.disconnect();
  }
}

runScript(main);
