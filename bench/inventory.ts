/**
 * Inventory benchmark: with N defined domains per lab host (most shut off), time from connect to a complete tree for
 * all hosts — Ferry's listing (one virsh call per host) against a naive listing (one `virsh dominfo` per domain),
 * both over the same SSH transport, in the same run; then the time from tiny1 stopped in another shell (from the
 * event's timestamp in a second listener on the host, `virsh event --timestamp`, on this machine's clock) to
 * Ferry's inventory showing it. Last line:
 *   inventory: hosts=3 domains=600 ferry_ms=<n> naive_ms=<n> speedup=<x> event_ms=<median> event_max_ms=<n>
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { DEFAULT_LIBVIRT_URI } from '../src/core/virsh';
import { HostInventory } from '../src/services/inventory';
import { HostConnection } from '../src/transport/hostConnection';
import { silentLogger } from '../src/transport/logger';
import { resolveHost } from '../src/transport/sshConfig';

const lab = JSON.parse(readFileSync(`${process.env.LAB ?? '/var/lib/ferry-lab'}/lab.json`, 'utf8')) as {
  sshConfig: string;
  rootSshConfig: string;
  hosts: { alias: string }[];
  guests: { tiny1: { host: string } };
};
const connect = async (alias: string) => {
  const c = new HostConnection(
    alias,
    { resolve: (a) => resolveHost(a, lab.sshConfig), connectTimeoutMs: 10_000, keepaliveIntervalMs: 15_000 },
    silentLogger,
  );
  await c.connect(false);
  return c;
};
const onHostOut = (alias: string, command: string) =>
  new Promise<string>((resolve, reject) =>
    execFile('ssh', ['-F', lab.rootSshConfig, '-o', 'BatchMode=yes', alias, command], { encoding: 'utf8' }, (e, out) =>
      e ? reject(e) : resolve(out),
    ),
  );
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Ferry: connect every host and wait until each inventory holds its complete listing. */
async function ferryTree(): Promise<{ ms: number; domains: number }> {
  const started = performance.now();
  const inventories = lab.hosts.map(
    (h) =>
      new HostInventory(
        new HostConnection(
          h.alias,
          { resolve: (a) => resolveHost(a, lab.sshConfig), connectTimeoutMs: 10_000, keepaliveIntervalMs: 15_000 },
          silentLogger,
        ),
        DEFAULT_LIBVIRT_URI,
        silentLogger,
      ),
  );
  // as in the extension: connecting starts the listing (and the event stream); the tree is complete when it is in
  await Promise.all(
    inventories.map(async (inv) => {
      const listed = new Promise<void>((resolve) => {
        const sub = inv.onDidChange(() => {
          if (inv.domains === undefined) return;
          sub.dispose();
          resolve();
        });
      });
      await inv.connection.connect(false);
      await listed;
    }),
  );
  const ms = performance.now() - started;
  const domains = inventories.reduce((n, inv) => n + (inv.domains?.length ?? 0), 0);
  for (const inv of inventories) {
    inv.connection.dispose();
    inv.dispose();
  }
  return { ms, domains };
}

/** Naive: list names, then one `virsh dominfo` per domain (what a script or a simple tool does). */
async function naiveTree(): Promise<{ ms: number; domains: number }> {
  const started = performance.now();
  const counts = await Promise.all(
    lab.hosts.map(async (h) => {
      const c = await connect(h.alias);
      const names = (await c.exec(['virsh', '-q', '-c', DEFAULT_LIBVIRT_URI, 'list', '--all', '--name'])).stdout
        .split('\n')
        .filter(Boolean);
      for (const name of names) {
        const r = await c.exec(['virsh', '-q', '-c', DEFAULT_LIBVIRT_URI, 'dominfo', name]);
        if (r.code !== 0) throw new Error(`dominfo ${name}: ${r.stderr}`);
      }
      c.dispose();
      return names.length;
    }),
  );
  return { ms: performance.now() - started, domains: counts.reduce((a, b) => a + b, 0) };
}

/** Wall-clock ms, to the microsecond: comparable with `date +%s%N` on a lab host (the hosts share this clock). */
const wallMs = () => performance.timeOrigin + performance.now();

/**
 * Stop tiny1 from another shell on its host (and start it again); each time, how long from libvirt's Stopped event,
 * as a second listener on the host timestamps it, to the inventory showing tiny1 shut off. (The shell's own command
 * returns a few ms after the event, so timing from it would read 0.)
 */
async function eventToInventory(rounds: number): Promise<number[]> {
  const host = lab.hosts.find((h) => h.alias === lab.guests.tiny1.host)!.alias;
  // the inventory before the connection: its first connect starts the listing and the libvirt event stream
  const connection = new HostConnection(
    host,
    { resolve: (a) => resolveHost(a, lab.sshConfig), connectTimeoutMs: 10_000, keepaliveIntervalMs: 15_000 },
    silentLogger,
  );
  const inventory = new HostInventory(connection, DEFAULT_LIBVIRT_URI, silentLogger);
  const state = () => inventory.domains?.find((d) => d.name === 'tiny1')?.state;
  // when each state was first shown, and when the host's listener heard its event, by the wall clock
  const shownAt = new Map<string, number>();
  const heardAt = new Map<string, number>();
  inventory.onDidChange(() => {
    const now = state();
    if (now && !shownAt.has(now)) shownAt.set(now, wallMs());
  });
  const listener = spawn(
    'ssh',
    [
      '-F',
      lab.rootSshConfig,
      '-o',
      'BatchMode=yes',
      host,
      `virsh -q event --domain tiny1 --event lifecycle --loop --timestamp`,
    ],
    { stdio: ['pipe', 'pipe', 'ignore'] },
  );
  createInterface({ input: listener.stdout }).on('line', (line) => {
    // 2026-11-26 07:40:00.123+0000: event 'lifecycle' for domain 'tiny1': Stopped Destroyed
    const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3})([+-]\d{4}): event 'lifecycle' for domain '[^']*': (\w+)/.exec(
      line,
    );
    const now = m && { Stopped: 'shutoff', Started: 'running' }[m[4]];
    if (m && now && !heardAt.has(now))
      heardAt.set(now, Date.parse(`${m[1]}T${m[2]}${m[3].slice(0, 3)}:${m[3].slice(3)}`));
  });
  await connection.connect(false);
  const both = (want: string) =>
    new Promise<number>((resolve, reject) => {
      const from = performance.now();
      const check = () => {
        const [shown, heard] = [shownAt.get(want), heardAt.get(want)];
        if (shown !== undefined && heard !== undefined) return resolve(shown - heard);
        if (performance.now() - from > 30_000)
          return reject(new Error(`tiny1 ${want}: not shown, or its event not heard, within 30 s`));
        setTimeout(check, 5);
      };
      check();
    });
  await waitForState(state, 'running');
  const times: number[] = [];
  try {
    // one round first, not counted (nor waiting for the listener, which may not be listening yet): the event
    // streams are being opened
    await onHostOut(host, 'virsh -q destroy tiny1');
    await waitForState(state, 'shutoff');
    await onHostOut(host, 'virsh -q start tiny1');
    await waitForState(state, 'running');
    for (let i = 0; i < rounds; i++) {
      for (const map of [shownAt, heardAt]) map.clear();
      await onHostOut(host, 'virsh -q destroy tiny1');
      times.push(await both('shutoff'));
      // back to running for the next round (not timed: libvirt lists it running, and Ferry shows it, seconds
      // before its Started event under TCG)
      await onHostOut(host, 'virsh -q start tiny1');
      await waitForState(state, 'running');
    }
  } finally {
    listener.kill();
    inventory.connection.dispose();
    inventory.dispose();
  }
  return times;
}

/** until `state()` reads `want` (30 s at most) */
async function waitForState(state: () => string | undefined, want: string): Promise<void> {
  for (const started = performance.now(); state() !== want; await new Promise((r) => setTimeout(r, 5))) {
    if (performance.now() - started > 30_000) throw new Error(`the inventory did not show tiny1 ${want} within 30 s`);
  }
}

async function main() {
  const cold = await ferryTree();
  console.log(`ferry cold (first connect of this process): ${cold.ms.toFixed(0)} ms for ${cold.domains} domains`);
  const warm: number[] = [];
  for (let i = 0; i < 5; i++) warm.push((await ferryTree()).ms);
  console.log(`ferry warm runs: ${warm.map((x) => x.toFixed(0)).join(', ')} ms`);
  const naive = await naiveTree();
  console.log(`naive: ${naive.ms.toFixed(0)} ms for ${naive.domains} domains`);
  if (naive.domains !== cold.domains)
    throw new Error(`the two listings disagree: ${cold.domains} vs ${naive.domains} domains`);
  const events = await eventToInventory(7);
  console.log(
    `stopped in another shell, libvirt's event to the inventory: ${events.map((x) => x.toFixed(0)).join(', ')} ms`,
  );
  const ferryMs = median(warm);
  console.log(
    `inventory: hosts=${lab.hosts.length} domains=${cold.domains} ferry_ms=${ferryMs.toFixed(0)} naive_ms=${naive.ms.toFixed(0)} speedup=${(naive.ms / ferryMs).toFixed(1)} event_ms=${median(events).toFixed(0)} event_max_ms=${Math.max(...events).toFixed(0)}`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
