/**
 * The switchover gate's listing (remote/scripts/conntrack-gate.sh) run here by sh in a network namespace of its own,
 * against the kernel's real conntrack table: 10,000 of the VM's flows, and other flows coming and going all the time,
 * as on a busy hypervisor. The listing and the event reader write into one pipe; every line of the snapshot must
 * still be a whole flow (a bench run once loaded "src=10." from a line cut by an event written into its middle).
 */
import { spawn, spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseExport, SNAPSHOT_END } from '../../src/core/conntrack';
import { snapshotThenChangesArgv } from '../../src/remote/conntrack';
import { waitFor } from '../support/waitFor';

const VM = '198.51.100.20';
const FLOWS = 10_000;
/** the VM's flows, loaded at once; then, until the gate ends, a busy neighbour's flows added and deleted in turn */
const SETUP = [
  'ip link set lo up',
  `i=0; while [ $i -lt ${FLOWS} ]; do echo "-A -t 600 -p udp -s ${VM} -d 203.0.113.$((i % 200 + 1)) --sport $((i / 200 + 1024)) --dport 53"; i=$((i + 1)); done | conntrack -R - >/dev/null 2>&1`,
  'neighbour=$(mktemp)',
  'i=0; while [ $i -lt 500 ]; do echo "-A -t 60 -p udp -s 192.0.2.1 -d 192.0.2.2 --sport $((i + 1024)) --dport 9"; i=$((i + 1)); done > "$neighbour"',
  '( while :; do conntrack -R - < "$neighbour" >/dev/null 2>&1; conntrack -D -s 192.0.2.1 >/dev/null 2>&1; done ) &',
  'churn=$!',
  '"$@"; code=$?; kill $churn; rm -f "$neighbour"; exit $code',
].join('\n');

describe("the switchover gate's listing", () => {
  beforeAll(() => {
    // root, conntrack-tools and the kernel's conntrack (npm test's set-up installs the tools): said at once if missing
    const probe = spawnSync('unshare', ['--net', 'sh', '-c', 'conntrack -C'], { encoding: 'utf8' });
    if (probe.status !== 0)
      throw new Error(`this test needs root, conntrack-tools and nf_conntrack: ${probe.stderr || probe.error}`);
  });

  it('lists every flow whole while other flows come and go, then answers the go with its path', async () => {
    const child = spawn('unshare', ['--net', 'sh', '-c', SETUP, 'setup', ...snapshotThenChangesArgv([VM])], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await waitFor('the snapshot', () => out.includes(`${SNAPSHOT_END}\n`) || undefined, 60_000).catch((e: Error) => {
        throw new Error(`${e.message}; the script said: ${stderr}`);
      });
      child.stdin.write('go\n');
    } finally {
      child.stdin.end();
    }
    expect(await exit, stderr).toBe(0);
    const [snapshot, after] = out.split(`${SNAPSHOT_END}\n`);
    const lines = snapshot.split('\n').filter(Boolean);
    const cut = lines.filter(
      (l) => !/^ipv4 +2 udp +17 \d+ src=198\.51\.100\.20 dst=203\.0\.113\.\d+ sport=\d+ dport=53 /.test(l),
    );
    expect(cut.slice(0, 3), `${cut.length} of ${lines.length} lines are not a flow of the VM's`).toEqual([]);
    const { flows, skipped } = parseExport(snapshot);
    expect([flows.length, skipped]).toEqual([FLOWS, 0]);
    expect(after).toMatch(/^ferry-path (events|relisted-[a-z-]+)\n/);
  }, 90_000);
});
