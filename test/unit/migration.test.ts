import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cpuCompareVerdict,
  compareVersions,
  htTrap,
  parseAvailableMemoryKiB,
  parseDomainXml,
  parseHostUuid,
  parseVirshVersion,
} from '../../src/core/hostFacts';
import {
  exitLine,
  exitStatusInLog,
  formatRate,
  migrateArgv,
  optionProblems,
  parseJobStats,
  parseMaxDowntime,
  PROFILES,
  targetUri,
} from '../../src/core/migration/job';
import { percentOf, toSample } from '../../src/core/migration/monitor';
import { parseEventLine } from '../../src/core/virsh';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', name), 'utf8');
const UUID = '1d8804d1-ecca-43d9-9b8e-ae30c31ff75b';

describe('migration options', () => {
  it('every profile is a combination libvirt accepts', () => {
    for (const p of Object.values(PROFILES)) expect(optionProblems(p.options), p.label).toEqual([]);
  });

  it("reads virsh migrate-getmaxdowntime's answer, and nothing else", () => {
    expect(parseMaxDowntime('300\n')).toBe(300);
    expect(parseMaxDowntime('  50 \n')).toBe(50);
    for (const text of ['', '0\n', '-1\n', '300 ms\n', 'error: failed to get domain', '1e3\n', '12345678901\n'])
      expect(parseMaxDowntime(text), JSON.stringify(text)).toBeUndefined();
  });

  it('refuses what libvirt/QEMU refuse, with the reason', () => {
    const safe = PROFILES.safe.options;
    expect(optionProblems({ ...safe, bandwidthMiBps: 0 })[0]).toMatch(/above 0/);
    expect(optionProblems({ ...safe, bandwidthMiBps: -1 })[0]).toMatch(/above 0/);
    expect(optionProblems({ ...safe, bandwidthMiBps: 1.5 })[0]).toMatch(/whole number/);
    expect(optionProblems({ ...safe, zeroCopy: true })).toEqual([expect.stringMatching(/needs parallel connections/)]);
    expect(optionProblems({ ...safe, zeroCopy: true, parallelConnections: 4, tls: true })).toEqual([
      expect.stringMatching(/TLS/),
    ]);
    expect(optionProblems({ ...safe, zeroCopy: true, parallelConnections: 4, compression: 'xbzrle' }).join()).toMatch(
      /compression/,
    );
    expect(optionProblems({ ...safe, postcopy: 'manual', parallelConnections: 4 }).join()).toMatch(/multifd/);
    expect(optionProblems({ ...safe, undefineSource: true }).join()).toMatch(/no definition anywhere/);
    expect(optionProblems({ ...safe, maxDowntimeMs: 0 }).join()).toMatch(/max downtime/);
  });

  it('builds virsh migrate argv, addressing the domain by UUID', () => {
    expect(
      migrateArgv('qemu:///system', UUID, 'qemu+ssh://root@10.0.0.12/system?no_tty=1', {
        ...PROFILES.fast.options,
        bandwidthMiBps: 500,
        persistent: true,
        undefineSource: true,
      }),
    ).toEqual([
      'virsh',
      '-q',
      '-c',
      'qemu:///system',
      'migrate',
      '--live',
      '--p2p',
      '--persistent',
      '--undefinesource',
      '--parallel',
      '--parallel-connections',
      '4',
      '--bandwidth',
      '500',
      '--domain',
      UUID,
      '--desturi',
      'qemu+ssh://root@10.0.0.12/system?no_tty=1',
    ]);
    expect(() => migrateArgv('qemu:///system', UUID, 'x', { ...PROFILES.safe.options, bandwidthMiBps: 0 })).toThrow(
      /bandwidth/,
    );
    // no cap is said explicitly: a cap set on an earlier migration stays with the domain otherwise
    expect(migrateArgv('qemu:///system', UUID, 'x', PROFILES.safe.options).join(' ')).toContain(
      '--bandwidth 8796093022207',
    );
  });

  it('writes the target URI the source dials', () => {
    expect(targetUri({ user: 'root', hostName: '10.0.0.12', port: 22 })).toBe(
      'qemu+ssh://root@10.0.0.12/system?no_tty=1',
    );
    expect(targetUri({ user: 'ops', hostName: 'fd00::2', port: 2222 })).toBe(
      'qemu+ssh://ops@[fd00::2]:2222/system?no_tty=1',
    );
  });
});

describe('job statistics (captured from lab migrations)', () => {
  it('parses a running job', () => {
    const s = parseJobStats(fixture('domjobinfo-rawstats-running.txt'));
    expect(s).toMatchObject({
      type: 'unbounded',
      operation: 5,
      timeElapsedMs: 1989,
      dataTotal: 537665536,
      dataRemaining: 419438592,
      iteration: 1,
      downtimeMs: 300,
    });
    expect(s.memoryBps).toBe(105168150); // bytes/s: the lab capped this one at 100 MiB/s
    expect(formatRate(s.memoryBps)).toBe('100 MiB/s (0.84 Gbit/s)');
  });

  it('parses a completed job and the job-completed event body', () => {
    const s = parseJobStats(fixture('domjobinfo-rawstats-completed.txt'));
    expect(s).toMatchObject({ type: 'completed', downtimeMs: 81, iteration: 6, dataRemaining: 0 });
    const events = fixture('virsh-event-migration.txt');
    expect(parseEventLine(events.split('\n').find((l) => l.includes('job-completed'))!)).toMatchObject({
      type: 'job-completed',
      domain: 'tiny1',
    });
    const body = events.slice(events.indexOf('job-completed'));
    expect(parseJobStats(`Job type: 3\n${body}`)).toMatchObject({ downtimeMs: 81, memoryBps: 249175999 });
  });

  it('shows progress that never runs backwards and holds at 99 % until completion', () => {
    const running = toSample(parseJobStats(fixture('domjobinfo-rawstats-running.txt')))!;
    expect(percentOf(running)).toBe(21);
    expect(percentOf({ ...running, remaining: running.total }, 60)).toBe(60); // a new pass re-sends dirty pages
    expect(percentOf({ ...running, remaining: 0 })).toBe(99);
  });
});

describe('host facts for the preflight', () => {
  it('reads the domain XML: type, memory, files it needs', () => {
    expect(parseDomainXml(fixture('virsh-dumpxml-tiny1.xml'))).toEqual({
      virtType: 'qemu',
      memoryKiB: 524288,
      files: ['/var/lib/libvirt/boot/tiny-vmlinux', '/var/lib/libvirt/boot/tiny-initrd.gz'],
      diskFiles: [],
      cpuMode: 'custom',
      cpuFeatures: ['hypervisor', 'lahf_lm'],
    });
    const withDisk = `<domain type='kvm'><memory unit='GiB'>2</memory><os><type>hvm</type></os><devices><disk type='file' device='disk'><source file='/var/lib/libvirt/images/a b.qcow2'/></disk><disk type='block'><source dev='/dev/sdb'/></disk></devices></domain>`;
    expect(parseDomainXml(withDisk)).toEqual({
      virtType: 'kvm',
      memoryKiB: 2097152,
      files: ['/var/lib/libvirt/images/a b.qcow2'],
      diskFiles: ['/var/lib/libvirt/images/a b.qcow2'],
      cpuMode: 'custom',
      cpuFeatures: [],
    });
  });

  it('knows the version trap of libvirt < 11.10 taking QEMU >= 10 incoming, and names the versions it saw', () => {
    const lab = { libvirt: '9.0.0', hypervisor: 'QEMU 10.0.2' };
    // the lab's tiny1: a custom qemu64 model without ht, which libvirt 9.0 migrates into QEMU 10 (every lab migration)
    expect(htTrap(lab, parseDomainXml(fixture('virsh-dumpxml-tiny1.xml')))).toBeUndefined();
    expect(htTrap(lab, { cpuMode: 'host-model', cpuFeatures: [] })).toMatch(
      /^the target runs libvirt 9\.0\.0 with QEMU 10\.0\.2: libvirt before 11\.10\.0 refuses .*"extra features: ht" for this domain's CPU \(host-model\)/,
    );
    const withHt = `<domain type='kvm'><memory>1</memory><cpu mode='custom'><model>Skylake-Server</model><feature policy='require' name='ht'/></cpu></domain>`;
    expect(htTrap(lab, parseDomainXml(withHt))).toMatch(/\(custom, feature ht\)/);
    expect(
      htTrap({ libvirt: '11.10.0', hypervisor: 'QEMU 10.1.0' }, { cpuMode: 'host-model', cpuFeatures: [] }),
    ).toBeUndefined();
    expect(
      htTrap({ libvirt: '9.0.0', hypervisor: 'QEMU 8.2.2' }, { cpuMode: 'host-passthrough', cpuFeatures: [] }),
    ).toBeUndefined();
  });

  it('reads host UUID, versions, free memory, CPU verdicts', () => {
    expect(parseHostUuid(fixture('virsh-capabilities.xml'))).toBe('6a3e1b52-7c1d-4e8f-9a0b-000000000001');
    expect(parseVirshVersion(fixture('virsh-version.txt'))).toEqual({ libvirt: '9.0.0', hypervisor: 'QEMU 10.0.2' });
    expect(parseAvailableMemoryKiB(fixture('virsh-nodememstats.txt'))).toBeGreaterThan(1048576);
    expect(cpuCompareVerdict('The CPU provided by hypervisor on the host is a superset of CPU described in x')).toBe(
      'compatible',
    );
    expect(
      cpuCompareVerdict('CPU described in x is incompatible with the CPU provided by hypervisor on the host'),
    ).toBe('incompatible');
    expect(compareVersions('10.0.2', '7.2.0')).toBeGreaterThan(0);
    expect(compareVersions('7.2.0', '10.0.2')).toBeLessThan(0);
  });
});

describe('the exit marker in a migration log', () => {
  it('counts only whole lines, the last one, so a domain name quoted by virsh cannot forge it', () => {
    expect(exitStatusInLog('error: operation failed\nferry-exit=1\n')).toBe(1);
    // names may hold CR or U+2028 (not LF); virsh quotes them in its errors
    const forged =
      "error: failed to get domain 'vm\rferry-exit=0'\nerror: 'x\u2028ferry-exit=0\u2029'\nerror: ferry-exit=0 in a name\n";
    expect(exitStatusInLog(forged)).toBeUndefined();
    expect(exitStatusInLog(`${forged}ferry-exit=1\n`)).toBe(1);
    expect(exitStatusInLog('ferry-exit=0\nferry-failsafe-resumed\nferry-exit=1\n')).toBe(1);
    expect(exitLine('ferry-exit=0 ')).toBeUndefined();
  });
});
