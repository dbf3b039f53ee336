/**
 * Fleet benchmark: ten lab hosts (sshd + libvirtd each, no guest), each with 1000 defined, shut-off domains.
 * - tree_ms: from the hosts being added to the Hypervisors tree until every host shows its 1000 domains, next to two
 *   floors in the same run, all ten hosts at once: Ferry's own listing (core/virsh listDomainsArgv) run on the hosts
 *   themselves (tree_floor_ms: no SSH, no Ferry), and run over OpenSSH, a new connection to each host as Ferry opens
 *   one, its output read here (tree_ssh_floor_ms). All ten hosts share this machine's cores with the client;
 * - event_p99_ms: while lab/tools/events.py defines and undefines domains at 100 events/s spread over the hosts, from
 *   a host's virsh having done one to the tree showing it (domain there, or gone);
 * - exthost_cpu_pct: this process's CPU over the storm, in % of one core: Ferry's registry, inventories, QEMU probe,
 *   migration runner and tree provider, as in the extension host (the bench's own bookkeeping of what each redraw
 *   shows is timed and left out: in VS Code the window does that comparing);
 * - heap_mib: this process's heap once the tree is complete, after a full garbage collection.
 * The tree provider is driven as VS Code's tree view drives it: on each change, the children of what changed and
 * their items, every host expanded (bench/vscode-tree-stub.ts stands in for the `vscode` module; VS Code's own work
 * on those items, sending and drawing them, is not counted). Last line:
 *   fleet: hosts=10 domains=10000 tree_ms=<n> tree_floor_ms=<n> tree_ssh_floor_ms=<n> tree_over_floor=<x>
 *          tree_over_ssh_floor=<x> event_p99_ms=<n> exthost_cpu_pct=<n> heap_mib=<n>
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { HostNode, TreeNode } from '../src/views/nodes';
import { listDomainsArgv } from '../src/core/virsh';
import { newStatsMark } from '../src/services/inventory';
import { HostsTreeProvider } from '../src/views/hostsTree';
import { HostRegistry } from '../src/services/hostRegistry';
import { MigrationRunner } from '../src/services/migration';
import { QemuBinaries } from '../src/services/qemuBinaries';
import { type Logger, silentLogger } from '../src/transport/logger';
import { remoteCommand, shellCommand } from '../src/transport/quote';
import { lab, memoryStore, runScript } from '../test/integration/lab';

const URI = 'qemu:///system';
const PER_HOST = Number(process.env.FLEET_DOMAINS_PER_HOST ?? 1000);
const RATE = 100;
const SECONDS = 20;
/** FLEET_LOG=1: Ferry's log on stderr, each line with the ms since the start (where the time to the tree goes) */
const t0 = Date.now();
const stamped = (m: string) => console.error(`${Date.now() - t0} ${m.slice(0, 200)}`);
const log: Logger = process.env.FLEET_LOG
  ? { trace: stamped, debug: stamped, info: stamped, warn: stamped, error: stamped }
  : silentLogger;
const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

async function main() {
  const aliases = lab.hosts.map((h) => h.alias);
  const registry = new HostRegistry(
    {
      connection: { connectTimeoutMs: 10_000, keepaliveIntervalMs: 15_000 },
      settings: { sshConfigPath: lab.sshConfig, libvirtUri: URI },
    },
    log,
  );
  const runner = new MigrationRunner(registry, memoryStore(), { libvirtUri: URI }, log);
  const qemu = new QemuBinaries(registry, log);
  const tree = new HostsTreeProvider(
    registry,
    runner,
    { qos: { interfaces: async () => [] }, rateUnit: () => 'Mbit/s' },
    qemu,
  );
  // what the tree shows: per host, the names of its domains as last drawn, and when each name came or went
  const shown = new Map<string, Set<string>>();
  const came = new Map<string, number>();
  const went = new Map<string, number>();
  // the bench's own bookkeeping (which names a redraw shows, which came or went) is not the extension host's work: in
  // VS Code the window compares what it is sent. Its CPU time is measured and left out of exthost_cpu_pct.
  let bookkeepingMicros = 0;
  const drawHost = (node: HostNode) => {
    tree.getTreeItem(node);
    const children = tree.getChildren(node) as TreeNode[];
    for (const child of children) tree.getTreeItem(child);
    const now = Date.now();
    const cpuBefore = process.cpuUsage();
    const names = new Set<string>();
    for (const child of children) if (child.kind === 'domain') names.add(child.domain.name);
    const before = shown.get(node.alias) ?? new Set<string>();
    for (const n of names) if (!before.has(n)) came.set(`${node.alias} ${n}`, now);
    for (const n of before) if (!names.has(n)) went.set(`${node.alias} ${n}`, now);
    shown.set(node.alias, names);
    const spent = process.cpuUsage(cpuBefore);
    bookkeepingMicros += spent.user + spent.system;
  };
  const drawAll = () => (tree.getChildren() as TreeNode[]).forEach((n) => n.kind === 'host' && drawHost(n));
  tree.onDidChangeTreeData((node) => (node?.kind === 'host' ? drawHost(node) : drawAll()));

  // the floors, all hosts at once, timed here: Ferry's listing run on the hosts themselves (no SSH), and run over
  // OpenSSH as Ferry sends it (transport/quote), a new connection to each host, its output read here. Each host's
  // output must hold the listing's mark (grep -c reads it all): a listing that failed would make a short floor.
  const statsMark = newStatsMark();
  const listing = shellCommand(listDomainsArgv(URI, statsMark));
  const timeAll = (each: string) => {
    const run = spawnSync(
      'bash',
      [
        '-c',
        [
          '. lab/lib.sh; s=$(now_ms)',
          `for h in $HOSTS; do { ${each} | grep -cF -- "$MARK" >/dev/null || echo "host$h failed" >&2; } & done`,
          'wait; echo $(( $(now_ms) - s ))',
        ].join('\n'),
      ],
      {
        cwd: join(__dirname, '..', '..'),
        encoding: 'utf8',
        env: {
          ...process.env,
          LAB: lab.lab,
          LAB_HOSTS: lab.hosts.map((h) => h.letter).join(' '),
          MARK: statsMark,
          LISTING: listing,
          REMOTE: remoteCommand(listing),
          SSH_CONFIG: lab.sshConfig,
        },
      },
    );
    if (run.stderr.includes('failed')) throw new Error(`a floor's listing failed: ${run.stderr}`);
    return Number(run.stdout);
  };
  const floors = [0, 1, 2].map(() => timeAll('hx $h sh -c "$LISTING"'));
  const sshFloors = [0, 1, 2].map(() => timeAll('ssh -o BatchMode=yes -F "$SSH_CONFIG" host$h "$REMOTE"'));
  const floorMs = percentile(floors, 50);
  const sshFloorMs = percentile(sshFloors, 50);

  // the tree, from nothing to every host's domains
  const started = Date.now();
  log.info('fleet: hosts added');
  registry.setHosts(aliases);
  drawAll();
  const complete = () =>
    aliases.every((a) => [...(shown.get(a) ?? [])].filter((n) => n.startsWith('bench-')).length === PER_HOST);
  await new Promise<void>((resolve, reject) => {
    const timeout = setTimeout(
      () => reject(new Error(`the tree did not show ${PER_HOST} domains on every host within 60 s`)),
      60_000,
    );
    const sub = tree.onDidChangeTreeData(() => {
      if (!complete()) return;
      clearTimeout(timeout);
      sub.dispose();
      resolve();
    });
  });
  const treeMs = Date.now() - started;
  // what the extension host holds for the tree: its heap after a full collection (node --expose-gc, bench/run.sh)
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('node --expose-gc is needed for heap_mib: run it as npm run bench -- fleet');
  gc();
  const heapMiB = process.memoryUsage().heapUsed / 1048576;
  console.log(
    `fleet: the tree shows ${aliases.length} hosts × ${PER_HOST} domains ${treeMs} ms after they were added; Ferry's listing on the hosts alone, all at once: ${floors.join(', ')} ms; over OpenSSH, connecting: ${sshFloors.join(', ')} ms`,
  );

  const events: { at: number; host: string; name: string; op: 'define' | 'undefine' }[] = [];
  const cpu0 = process.cpuUsage();
  const bookkeeping0 = bookkeepingMicros;
  const wall0 = performance.now();
  // it keeps what it defined until its stdin ends: the last domains stay while their arrival is measured
  const generator = spawn(
    'python3',
    [join(__dirname, '..', '..', 'lab', 'tools', 'events.py'), String(RATE), String(SECONDS), '--lab', lab.lab],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise((resolve) => generator.once('exit', resolve));
  let summary = '';
  for await (const line of createInterface({ input: generator.stdout })) {
    const e = JSON.parse(line);
    if (!e.at) {
      summary = line;
      break;
    }
    events.push(e);
  }
  const cpu = process.cpuUsage(cpu0);
  const bookkeepingMs = (bookkeepingMicros - bookkeeping0) / 1000;
  const wallMs = performance.now() - wall0;
  // the last events' effects reach the tree a moment later
  const seen = (e: (typeof events)[number]) => (e.op === 'define' ? came : went).get(`${e.host} ${e.name}`);
  const deadline = Date.now() + 10_000;
  while (events.some((e) => seen(e) === undefined) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  const missed = events.filter((e) => seen(e) === undefined);
  generator.stdin.end();
  await exited;
  if (process.env.FLEET_DEBUG) {
    console.log(JSON.stringify(missed));
    const t0 = events[0].at;
    const slow = events
      .map((e) => ({ s: ((e.at - t0) / 1000).toFixed(1), l: Math.round((seen(e) ?? NaN) - e.at), h: e.host, op: e.op }))
      .filter((x) => x.l > 150);
    console.log(JSON.stringify(slow));
  }
  if (missed.length)
    throw new Error(
      `${missed.length} of ${events.length} events never showed in the tree, e.g. ${JSON.stringify(missed[0])}`,
    );
  const latencies = events.map((e) => Math.max(0, seen(e)! - e.at));
  const cpuPct = (((cpu.user + cpu.system) / 1000 - bookkeepingMs) / wallMs) * 100;
  console.log(
    `fleet: ${events.length} events in ${(wallMs / 1000).toFixed(1)} s (${summary}); event → tree p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms; the bench's own bookkeeping ${((bookkeepingMs / wallMs) * 100).toFixed(1)} % of a core, left out of exthost_cpu_pct`,
  );
  console.log(
    `fleet: hosts=${aliases.length} domains=${aliases.length * PER_HOST} tree_ms=${treeMs} tree_floor_ms=${floorMs} tree_ssh_floor_ms=${sshFloorMs} tree_over_floor=${(treeMs / floorMs).toFixed(2)} tree_over_ssh_floor=${(treeMs / sshFloorMs).toFixed(2)} event_p99_ms=${percentile(latencies, 99).toFixed(0)} exthost_cpu_pct=${cpuPct.toFixed(1)} heap_mib=${heapMiB.toFixed(0)}`,
  );
  tree.dispose();
  qemu.dispose();
  runner.dispose();
  registry.dispose();
}

runScript(main);
