/**
 * Migration preflight: checks run on the source and target before anything starts, each with pass / warn / fail
 * and the evidence it saw. A fail stops the migration; a warn needs the user's go-ahead.
 */
import type { Domain } from '../core/domain';
import {
  compareVersions,
  cpuCompareVerdict,
  htTrap,
  parseAvailableMemoryKiB,
  parseDomainXml,
  parseHostUuid,
  parseVirshVersion,
  qemuVersionOf,
} from '../core/hostFacts';
import type { DomainFacts, Versions } from '../core/hostFacts';
import type { MigrationOptions } from '../core/migration/job';
import { targetUri } from '../core/migration/job';
import { virsh } from '../core/virsh';
import { qemuLimitsArgv } from '../remote/diagnosis';
import { missingPathsArgv } from '../remote/preflight';
import type { HostConnection } from '../transport/hostConnection';
import type { ResolvedHost } from '../transport/sshConfig';
import { virshErrorText } from './libvirtError';

export type CheckStatus = 'pass' | 'warn' | 'fail';
export interface PreflightCheck {
  id: string;
  title: string;
  status: CheckStatus;
  evidence: string;
}

export interface PreflightResult {
  checks: PreflightCheck[];
  facts?: DomainFacts;
  sourceVersions?: Versions;
  targetVersions?: Versions;
  /** memory the target can give without swapping, KiB (virsh nodememstats) */
  targetAvailableKiB?: number;
}

export interface PreflightInput {
  uri: string;
  source: HostConnection;
  target: HostConnection;
  targetHost: ResolvedHost;
  domain: Domain;
  options: MigrationOptions;
}

export async function runPreflight(input: PreflightInput): Promise<PreflightResult> {
  const { uri, source, target, domain, options } = input;
  const checks: PreflightCheck[] = [];
  const add = (id: string, title: string, status: CheckStatus, evidence: string) =>
    checks.push({ id, title, status, evidence });
  const run = async (conn: HostConnection, argv: readonly string[], stdin?: string) =>
    conn.exec(argv, stdin === undefined ? { timeoutMs: 30_000 } : { stdin });

  add(
    'state',
    'Domain is running',
    domain.state === 'running' || domain.state === 'paused' ? 'pass' : 'fail',
    `${domain.name} is ${domain.state} on ${source.alias}`,
  );

  const [dumpxml, srcCaps, dstCaps, srcVersion, dstVersion, dstMem, reach] = await Promise.all([
    run(source, virsh(uri, 'dumpxml', domain.uuid)),
    run(source, virsh(uri, 'capabilities')),
    run(target, virsh(uri, 'capabilities')),
    run(source, virsh(uri, 'version')),
    run(target, virsh(uri, 'version')),
    run(target, virsh(uri, 'nodememstats')),
    // p2p: the source's libvirtd dials the target with the source host's own ssh keys and known_hosts
    run(source, ['virsh', '-q', '-c', targetUri(input.targetHost), 'hostname']),
  ]);

  add(
    'reach',
    `${source.alias} reaches libvirt on ${target.alias}`,
    reach.code === 0 ? 'pass' : 'fail',
    reach.code === 0
      ? `${targetUri(input.targetHost)} answers as ${reach.stdout.trim()}`
      : `${targetUri(input.targetHost)}: ${virshErrorText(reach.stderr, reach.code)}`,
  );

  const srcUuid = srcCaps.code === 0 ? parseHostUuid(srcCaps.stdout) : undefined;
  const dstUuid = dstCaps.code === 0 ? parseHostUuid(dstCaps.stdout) : undefined;
  if (!srcUuid || !dstUuid)
    add('same-host', 'Target is another host', 'warn', 'could not read both host UUIDs (virsh capabilities)');
  else
    add(
      'same-host',
      'Target is another host',
      srcUuid === dstUuid ? 'fail' : 'pass',
      srcUuid === dstUuid
        ? `both hosts report host UUID ${srcUuid}: libvirt refuses same-host migration`
        : `host UUIDs ${srcUuid} → ${dstUuid}`,
    );

  let facts: DomainFacts | undefined;
  if (dumpxml.code !== 0)
    add('definition', 'Domain definition readable', 'fail', virshErrorText(dumpxml.stderr, dumpxml.code));
  else facts = parseDomainXml(dumpxml.stdout);

  const sourceVersions = parseVirshVersion(srcVersion.stdout);
  const targetVersions = parseVirshVersion(dstVersion.stdout);
  const [sourceQemu, targetQemu] = [qemuVersionOf(sourceVersions), qemuVersionOf(targetVersions)];
  const older = sourceQemu && targetQemu && compareVersions(targetQemu, sourceQemu) < 0;
  add(
    'versions',
    'libvirt and QEMU versions',
    older ? 'warn' : 'pass',
    `source libvirt ${sourceVersions.libvirt ?? '?'}, ${sourceVersions.hypervisor ?? '?'}; target libvirt ${targetVersions.libvirt ?? '?'}, ${targetVersions.hypervisor ?? '?'}` +
      (older ? ' — the target QEMU is older; migrating to an older QEMU may fail on machine types or devices' : ''),
  );

  const ht = facts && htTrap(targetVersions, facts);
  if (ht) add('ht-trap', 'libvirt can take QEMU 10 incoming', 'fail', ht);

  if (facts) {
    const available = parseAvailableMemoryKiB(dstMem.stdout);
    add(
      'memory',
      `Free memory on ${target.alias}`,
      available === undefined ? 'warn' : available >= facts.memoryKiB ? 'pass' : 'fail',
      available === undefined
        ? 'could not read virsh nodememstats'
        : `${Math.round(available / 1024)} MiB available, the domain needs ${Math.round(facts.memoryKiB / 1024)} MiB`,
    );

    const cpu = await run(
      target,
      virsh(uri, 'hypervisor-cpu-compare', '--virttype', facts.virtType, '/dev/stdin'),
      dumpxml.stdout,
    );
    const verdict = cpuCompareVerdict(cpu.stdout + cpu.stderr);
    add(
      'cpu',
      `CPU model runs on ${target.alias}`,
      verdict === 'compatible' ? 'pass' : verdict === 'incompatible' ? 'fail' : 'warn',
      (cpu.stdout.trim() || virshErrorText(cpu.stderr, cpu.code)).replace('/dev/stdin', `${domain.name}'s CPU`),
    );

    const needed =
      options.copyStorage === 'none' ? facts.files : facts.files.filter((f) => !facts!.diskFiles.includes(f));
    if (needed.length) {
      const missing = await run(target, missingPathsArgv(needed));
      const absent = missing.stdout.split('\n').filter(Boolean);
      add(
        'files',
        `Files the domain needs exist on ${target.alias}`,
        absent.length ? 'fail' : 'pass',
        absent.length ? `missing on ${target.alias}: ${absent.join(', ')}` : needed.join(', '),
      );
    }
  }

  if (options.postcopy !== 'off') {
    const [s, t] = await Promise.all(
      [source, target].map((c) => run(c, ['cat', '/proc/sys/vm/unprivileged_userfaultfd'])),
    );
    const ok = s.stdout.trim() === '1' && t.stdout.trim() === '1';
    add(
      'postcopy',
      'Postcopy possible (userfaultfd)',
      ok ? 'pass' : 'warn',
      ok
        ? 'vm.unprivileged_userfaultfd=1 on both hosts'
        : `vm.unprivileged_userfaultfd is ${s.stdout.trim() || '?'} on ${source.alias}, ${t.stdout.trim() || '?'} on ${target.alias}: QEMU (not root) cannot use postcopy unless it is 1, or QEMU runs as root`,
    );
  }

  if (options.zeroCopy) {
    // CapEff and the memlock limit of the domain's QEMU, found through libvirt's status file by UUID (not by a command
    // line any process can claim): zero-copy pins pages (CAP_IPC_LOCK or a big enough RLIMIT_MEMLOCK)
    const probe = await run(source, qemuLimitsArgv(domain.uuid));
    const capEff = /CapEff:\s*([0-9a-f]+)/.exec(probe.stdout)?.[1];
    const memlock = /Max locked memory\s+(\S+)/.exec(probe.stdout)?.[1];
    const ipcLock = capEff !== undefined && (BigInt(`0x${capEff}`) & (1n << 14n)) !== 0n;
    const enough =
      memlock === 'unlimited' ||
      (memlock !== undefined && facts !== undefined && Number(memlock) >= facts.memoryKiB * 1024);
    add(
      'zerocopy',
      'Zero-copy send prerequisites',
      ipcLock || enough ? 'pass' : 'warn',
      `QEMU CapEff ${capEff ?? '?'} (${ipcLock ? 'has' : 'no'} cap_ipc_lock), memlock limit ${memlock ?? '?'}` +
        (ipcLock || enough
          ? ''
          : ': libvirt must raise the memlock limit when the migration starts; if it cannot, the migration fails'),
    );
  }
  return {
    checks,
    facts,
    sourceVersions,
    targetVersions,
    targetAvailableKiB: dstMem.code === 0 ? parseAvailableMemoryKiB(dstMem.stdout) : undefined,
  };
}
