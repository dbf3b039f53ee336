/**
 * Migration benchmark: the same guest (400 MiB filled, then dirtying 100 MiB/s) migrated with `virsh migrate --live`
 * defaults and with Ferry's Fast profile, alternating, 3 runs each, plus raw TCP between the two hosts' management
 * addresses as the physical reference, all in one run. Throughput = libvirt's own figure for the completed job
 * (memory_bps, "Memory bandwidth" in virsh domjobinfo: what operators and lab.md compare); data processed / job
 * time is printed beside it. Last line:
 *   migration: default_MiBps=<n> fast_MiBps=<n> raw_tcp_MiBps=<n> fast_over_default=<x> fast_over_raw=<x>
 */
import { jobInfoArgv, parseJobStats, PROFILES, targetUri, UNLIMITED_BANDWIDTH_MIBPS } from '../src/core/migration/job';
import { MigrationRunner } from '../src/services/migration';
import { silentLogger } from '../src/transport/logger';
import { guestPage, lab, labRegistry, memoryStore, runScript } from '../test/integration/lab';

const URI = 'qemu:///system';
const [A, B] = lab.hosts.map((h) => h.alias);
const guest = (path: string) => guestPage(lab.guests.tiny1.ip, path);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main() {
  const registry = await labRegistry([A, B]);
  const runner = new MigrationRunner(registry, memoryStore(), { libvirtUri: URI }, silentLogger);
  const exec = (alias: string, argv: string[]) => registry.get(alias)!.connection.exec(argv, { timeoutMs: 300_000 });
  const whereIs = async () => ((await exec(A, ['virsh', '-q', 'list', '--name'])).stdout.includes('tiny1') ? A : B);
  const uuid = (await exec(await whereIs(), ['virsh', '-q', 'domuuid', 'tiny1'])).stdout.trim();

  // libvirt's default is no cap; a cap set by an earlier migration stays with the domain, so restore the default
  await exec(await whereIs(), ['virsh', '-q', '-c', URI, 'migrate-setspeed', uuid, UNLIMITED_BANDWIDTH_MIBPS]);
  guest('/cgi-bin/dirty?mb=400&rate=100');
  await new Promise((r) => setTimeout(r, 5000)); // the first pass fills all 400 MiB

  const results: Record<'default' | 'fast', number[]> = { default: [], fast: [] };
  const jobMs: Record<'default' | 'fast', number[]> = { default: [], fast: [] };
  for (let run = 0; run < 3; run++) {
    for (const kind of ['default', 'fast'] as const) {
      const from = await whereIs();
      const to = from === A ? B : A;
      let stats;
      if (kind === 'default') {
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
        if (r.code !== 0) throw new Error(`virsh migrate: ${r.stderr}`);
        stats = parseJobStats((await exec(from, [...jobInfoArgv(URI, uuid, true)])).stdout);
      } else {
        const { done } = await runner.start({
          sourceAlias: from,
          targetAlias: to,
          domainUuid: uuid,
          domainName: 'tiny1',
          options: PROFILES.fast.options,
        });
        const end = await done;
        if (end.phase !== 'completed' || !end.summary) throw new Error(`Fast migration ${end.phase}: ${end.error}`);
        stats = end.summary;
      }
      const mibps = stats.memoryBps! / 1048576;
      const perTime = stats.dataProcessed! / 1048576 / (stats.timeElapsedMs! / 1000);
      results[kind].push(mibps);
      jobMs[kind].push(stats.timeElapsedMs!);
      console.log(
        `${kind.padEnd(7)} ${from}→${to}: memory_bps ${mibps.toFixed(0)} MiB/s; ${(stats.dataProcessed! / 1048576).toFixed(0)} MiB in ${stats.timeElapsedMs} ms (${perTime.toFixed(0)} MiB/s), downtime ${stats.downtimeMs} ms, ${stats.iteration} iterations`,
      );
    }
  }
  const status = guest('/cgi-bin/status');
  console.log(`guest after 6 migrations: ${status.trim()}`);
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

  // the time to move the domain is what a user waits for; fewer passes over dirty memory shorten it too
  console.log(
    `job time: default_ms=${mean(jobMs.default).toFixed(0)} fast_ms=${mean(jobMs.fast).toFixed(0)} default_over_fast=${(mean(jobMs.default) / mean(jobMs.fast)).toFixed(2)}`,
  );
  const d = mean(results.default);
  const f = mean(results.fast);
  console.log(
    `migration: default_MiBps=${d.toFixed(0)} fast_MiBps=${f.toFixed(0)} raw_tcp_MiBps=${raw.toFixed(0)} fast_over_default=${(f / d).toFixed(2)} fast_over_raw=${(f / raw).toFixed(2)}`,
  );
  runner.dispose();
  registry.dispose();
}

runScript(main);
