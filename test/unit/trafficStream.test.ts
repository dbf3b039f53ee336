/**
 * The traffic stream (remote/scripts/traffic-stream.bash) run here by bash in a network namespace of its own, on a veth
 * shaped as libvirt shapes a tap (an HTB class with a leaf, an ingress qdisc), with nothing on PATH but a tc that
 * counts its starts: every reading is made by builtins and the one tc, and Ferry's reader makes rates of it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type TrafficReading, TrafficBlocks, trafficSample } from '../../src/core/traffic';
import { trafficStreamArgv } from '../../src/remote/qos';
import { waitFor } from '../support/waitFor';

const dir = mkdtempSync(join(tmpdir(), 'ferry-traffic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TC = spawnSync('sh', ['-c', 'command -v tc'], { encoding: 'utf8' }).stdout.trim();
// the only command the stream may find: a tc that logs each start
writeFileSync(join(dir, 'tc'), `#!/bin/sh\necho start >> ${dir}/tc.starts\nexec ${TC} "$@"\n`);
chmodSync(join(dir, 'tc'), 0o755);

/** the veth d0 in new network and mount namespaces, shaped at 10 Mbit/s, and the stream's argv run there with PATH=dir */
const SETUP = [
  'mount -t sysfs sysfs /sys', // the new namespace's devices under /sys/class/net
  'ip link add d0 type veth peer name d1',
  'ip link set d0 up',
  'ip link set d1 up',
  'tc qdisc add dev d0 root handle 1: htb default 1',
  'tc class add dev d0 parent 1: classid 1:1 htb rate 10mbit ceil 20mbit burst 64k',
  'tc qdisc add dev d0 parent 1:1 handle 2: pfifo',
  'tc qdisc add dev d0 ingress',
  `exec env -i PATH=${dir} "$@"`,
].join(' && ');
function inNamespace(device: string, intervalMs: number) {
  const [, ...argv] = trafficStreamArgv(device, intervalMs);
  return ['unshare', ['--net', '--mount', 'sh', '-c', SETUP, 'setup', '/bin/bash', ...argv]] as const;
}

describe('the traffic stream', () => {
  it('reads every interval on the host clock with one tc for its whole life, and ends with its stdin', async () => {
    rmSync(join(dir, 'tc.starts'), { force: true });
    const [cmd, args] = inNamespace('d0', 100);
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    let stderr = '';
    const readings: TrafficReading[] = [];
    const blocks = new TrafficBlocks((r) => readings.push(r));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      blocks.feed(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await waitFor('eight readings', () => readings.length >= 8 || undefined, 20_000);
    } finally {
      child.stdin.end();
    }
    expect(await exit, stderr).toBe(0);
    expect(readFileSync(join(dir, 'tc.starts'), 'utf8')).toBe('start\n');
    for (const r of readings)
      expect(r.kernel).toMatchObject({
        htb: { rateBits: 10e6, ceilBits: 20e6, burstBytes: 65536 },
        ingress: true,
        txBytes: expect.any(Number),
        rxBytes: expect.any(Number),
      });
    // on the interval's grid of the host's clock: in order, and no more of them than the grid has points
    for (let i = 1; i < readings.length; i++) expect(readings[i].atMs).toBeGreaterThan(readings[i - 1].atMs);
    const span = readings.at(-1)!.atMs - readings[0].atMs;
    expect((readings.length - 1) * 100).toBeLessThanOrEqual(span + 100);
    expect(Math.abs(readings[0].atMs - Date.now())).toBeLessThan(60_000);

    // the same text cut anywhere gives the same readings
    const again: TrafficReading[] = [];
    const cut = new TrafficBlocks((r) => again.push(r));
    for (let i = 0; i < text.length; i += 7) cut.feed(text.slice(i, i + 7));
    expect(again).toEqual(readings);
  });

  it('says the device is gone, and refuses a name tc -batch would split', () => {
    const [cmd, args] = inNamespace('vnet42', 100);
    const gone = spawnSync(cmd, args, { encoding: 'utf8', input: '' });
    expect(gone.status).toBe(3);
    expect(gone.stderr).toBe('ferry-traffic: vnet42 is gone\n');
    expect(() => trafficStreamArgv('a"b', 250)).toThrow(/letters, digits/);
    expect(() => trafficStreamArgv('a/b', 250)).toThrow(/not a host network device/);
    // the script's own guard, whoever calls it
    const [, ...argv] = trafficStreamArgv('d0', 250);
    const quoted = spawnSync('/bin/bash', [...argv.slice(0, 5), 'a#b', '250'], { encoding: 'utf8', input: '' });
    expect(quoted.status).toBe(2);
  });
});

describe('the traffic reader', () => {
  const block = (us: number, tx: number, rx: number) =>
    `@@at ${us}\nclass htb 1:1 root leaf 2: prio 0 rate 10Mbit ceil 10Mbit burst 64Kb/1 cburst 1600b/1 level 0 \n` +
    ` Sent 4000 bytes 3 pkt (dropped 2, overlimits 5 requeues 0) \n@@filter\n@@qdisc\n@@bytes\n${tx}\n${rx}\n@@end\n`;

  it('makes rates on the host clock: the readings’ own interval, not when they arrived', () => {
    const readings: TrafficReading[] = [];
    const blocks = new TrafficBlocks((r) => readings.push(r));
    blocks.feed(block(1_000_000, 0, 0) + block(1_250_000, 312_500, 125_000));
    expect(trafficSample(readings[0], readings[1])).toEqual({
      t: 1250,
      intoGuestMbps: 10,
      outOfGuestMbps: 4,
      shapedMbps: 10,
      policedMbps: undefined,
      sentBytes: 4000,
      dropped: 2,
      overlimits: 5,
    });
  });

  it('refuses a stream that is not the script’s, and a reading without end', () => {
    expect(() => new TrafficBlocks(() => undefined).feed('hello\n@@end\n')).toThrow(/where a reading starts/);
    const endless = new TrafficBlocks(() => undefined);
    expect(() => endless.feed('@@at 1\n' + 'x\n'.repeat(3000))).toThrow(/over 2000 lines/);
    expect(() => new TrafficBlocks(() => undefined).feed('@@at 1\n' + 'x'.repeat(2 << 20))).toThrow(/over/);
  });
});
