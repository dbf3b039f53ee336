/**
 * Inventory benchmark: with N defined domains per lab host (most shut off), time from connect to a complete tree for
 * all hosts — Ferry's listing (two virsh calls per host) against a naive listing (one `virsh dominfo` per domain),
 * both over the same SSH transport, in the same run; then the time from tiny1 stopped or started in another shell
 * (once that shell's virsh has returned) to Ferry's inventory showing it, from libvirt's events. Last line:
 *   inventory: hosts=3 domains=600 ferry_ms=<n> naive_ms=<n> speedup=<x> event_ms=<median> event_max_ms=<n>
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
  const c = new HostConnection(alias, { resolve: (a) => resolveHost(a, lab.sshConfig), connectTimeoutMs: 10_000, keepaliveIntervalMs: 15_000 }, silentLogger);
  await c.connect(false);
  return c;
};
const onHost = (alias: string, command: string) =>
  new Promise<void>((resolve, reject) => execFile('ssh', ['-F', lab.rootSshConfig, '-o', 'BatchMode=yes', alias, command], (e) => (e ? reject(e) : resolve())));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Ferry: connect every host and wait until each inventory holds its complete listing. */
async function ferryTree(): Promise<{ ms: number; domains: number }> {
  const started = performance.now();
  const inventories = lab.hosts.map((h) => new HostInventory(new HostConnection(h.alias, { resolve: (a) => resolveHost(a, lab.sshConfig), connectTimeoutMs: 10_000, keepaliveIntervalMs: 15_000 }, silentLogger), DEFAULT_LIBVIRT_URI, silentLogger));
  // as in the extension: connecting starts the listing (and the event stream); the tree is complete when it is in
  await Promise.all(inventories.map(async (inv) => {
    const listed = new Promise<void>((resolve) => {
      const sub = inv.onDidChange(() => {
        if (inv.domains === undefined) return;
        sub.dispose();
        resolve();
      });
    });
    await inv.connection.connect(false);
    await listed;
  }));
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
  const counts = await Promise.all(lab.hosts.map(async (h) => {
    const c = await connect(h.alias);
    const names = (await c.exec(['virsh', '-q', '-c', DEFAULT_LIBVIRT_URI, 'list', '--all', '--name'])).stdout.split('\n').filter(Boolean);
    for (const name of names) {
      const r = await c.exec(['virsh', '-q', '-c', DEFAULT_LIBVIRT_URI, 'dominfo', name]);
      if (r.code !== 0) throw new Error(`dominfo ${name}: ${r.stderr}`);
    }
    c.dispose();
    return names.length;
  }));
  return { ms: performance.now() - started, domains: counts.reduce((a, b) => a + b, 0) };
}

/** Stop and start tiny1 from another shell on its host; each time, how long until the inventory shows the new state. */
async function eventToInventory(rounds: number): Promise<number[]> {
  const host = lab.hosts.find((h) => h.alias === lab.guests.tiny1.host)!.alias;
  // the inventory before the connection: its first connect starts the listing and the libvirt event stream
  const connection = new HostConnection(host, { resolve: (a) => resolveHost(a, lab.sshConfig), connectTimeoutMs: 10_000, keepaliveIntervalMs: 15_000 }, silentLogger);
  const inventory = new HostInventory(connection, DEFAULT_LIBVIRT_URI, silentLogger);
  await connection.connect(false);
  const state = () => inventory.domains?.find((d) => d.name === 'tiny1')?.state;
  const seen = (want: string) =>
    new Promise<number>((resolve, reject) => {
      const from = performance.now();
      const check = () => {
        if (state() === want) return resolve(performance.now() - from);
        if (performance.now() - from > 30_000) return reject(new Error(`the inventory did not show tiny1 ${want} within 30 s`));
        setTimeout(check, 1);
      };
      check();
    });
  await seen('running');
  const times: number[] = [];
  try {
    // one round first, not counted: the event stream is being opened as the inventory connects
    for (let i = 0; i <= rounds; i++) {
      await onHost(host, 'virsh -q destroy tiny1');
      const stopped = await seen('shutoff');
      await onHost(host, 'virsh -q start tiny1');
      const started = await seen('running');
      if (i > 0) times.push(stopped, started);
    }
  } finally {
    inventory.connection.dispose();
    inventory.dispose();
  }
  return times;
}

async function main() {
  const cold = await ferryTree();
  console.log(`ferry cold (first connect of this process): ${cold.ms.toFixed(0)} ms for ${cold.domains} domains`);
  const warm: number[] = [];
  for (let i = 0; i < 5; i++) warm.push((await ferryTree()).ms);
  console.log(`ferry warm runs: ${warm.map((x) => x.toFixed(0)).join(', ')} ms`);
  const naive = await naiveTree();
  console.log(`naive: ${naive.ms.toFixed(0)} ms for ${naive.domains} domains`);
  if (naive.domains !== cold.domains) throw new Error(`the two listings disagree: ${cold.domains} vs ${naive.domains} domains`);
  const events = await eventToInventory(5);
  console.log(`other shell to inventory (stop, start, …): ${events.map((x) => x.toFixed(0)).join(', ')} ms`);
  const ferryMs = median(warm);
  console.log(`inventory: hosts=${lab.hosts.length} domains=${cold.domains} ferry_ms=${ferryMs.toFixed(0)} naive_ms=${naive.ms.toFixed(0)} speedup=${(naive.ms / ferryMs).toFixed(1)} event_ms=${median(events).toFixed(0)} event_max_ms=${Math.max(...events).toFixed(0)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
