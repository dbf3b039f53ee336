import { netfilterBackend, syncConntrack } from '../src/services/conntrack';
import { lab, labRegistry, runScript } from '../test/integration/lab';
const VM = `${lab.guestNet}.121`;
function synthetic(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const src = `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    const sport = 1024 + (i % 60000);
    lines.push(`-A -t 3600 -u SEEN_REPLY,ASSURED -s ${src} -d ${VM} -r ${VM} -q ${src} -p tcp --sport ${sport} --dport 7 --reply-port-src 7 --reply-port-dst ${sport} --state ESTABLISHED${i % 3 ? '' : ` -m ${1 + (i % 7)}`}`);
  }
  return `${lines.join('\n')}\n`;
}
async function main() {
  const [A, B] = lab.hosts.map((h) => h.alias);
  const registry = await labRegistry([A, B], 15_000);
  const a = registry.get(A)!.connection, b = registry.get(B)!.connection;
  const flush = (c: typeof a) => c.exec(['sh', '-c', `conntrack -D -d ${VM} >/dev/null 2>&1; true`], { timeoutMs: 120_000 });
  await Promise.all([a, b].map((c) => c.exec(['sysctl', '-qw', 'net.netfilter.nf_conntrack_max=400000'])));
  await Promise.all([flush(a), flush(b)]);
  await a.exec(['conntrack', '-R', '-'], { stdin: synthetic(50_000), timeoutMs: 120_000 });
  for (let i = 0; i < 3; i++) {
    await flush(b);
    const c0 = process.cpuUsage();
    const r = await syncConntrack(netfilterBackend, a, b, [VM]);
    const c = process.cpuUsage(c0);
    console.log(`total ${r.totalMs.toFixed(0)} export ${r.exportMs.toFixed(0)} import ${r.importMs.toFixed(0)} verify ${r.verifyMs.toFixed(0)} ferry_cpu ${((c.user + c.system) / 1000).toFixed(0)} ms`);
  }
  await Promise.all([flush(a), flush(b)]);
  registry.dispose();
}
runScript(main);
