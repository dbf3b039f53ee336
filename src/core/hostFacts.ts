/** Parsers for what the migration preflight reads from hosts: domain XML, capabilities, versions, memory. */
import { XMLParser } from 'fast-xml-parser';

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (name) => name === 'disk' || name === 'feature',
});

export interface DomainFacts {
  /** 'kvm' on real hosts, 'qemu' under TCG */
  virtType: string;
  memoryKiB: number;
  /** files the domain needs on any host that runs it: kernel, initrd, loader, file-backed disks */
  files: string[];
  /** disks' source files only (not needed on the target when storage is copied) */
  diskFiles: string[];
  /** <cpu mode=…> (custom when absent) and the features it names */
  cpuMode: string;
  cpuFeatures: string[];
}

const toKiB = (value: number, unit = 'KiB'): number => {
  const f: Record<string, number> = {
    b: 1 / 1024,
    bytes: 1 / 1024,
    k: 1,
    kib: 1,
    kb: 1000 / 1024,
    m: 1024,
    mib: 1024,
    mb: 1e6 / 1024,
    g: 1048576,
    gib: 1048576,
    gb: 1e9 / 1024,
  };
  return Math.round(value * (f[unit.toLowerCase()] ?? 1));
};
const text = (node: unknown): string | undefined =>
  typeof node === 'object' && node !== null ? (node as { '#text'?: string })['#text'] : (node as string | undefined);

export function parseDomainXml(domainXml: string): DomainFacts {
  const d = xml.parse(domainXml).domain;
  if (!d) throw new Error('not a domain XML');
  const memory = d.memory;
  const os = d.os ?? {};
  const boot = [text(os.kernel), text(os.initrd), text(os.loader), text(os.nvram)].filter((f): f is string => !!f);
  const disks: { '@type'?: string; '@device'?: string; source?: { '@file'?: string } }[] = d.devices?.disk ?? [];
  const diskFiles = disks.filter((x) => x['@type'] === 'file' && x.source?.['@file']).map((x) => x.source!['@file']!);
  const cpu = d.cpu ?? {};
  return {
    cpuMode: cpu['@mode'] ?? 'custom',
    cpuFeatures: ((cpu.feature ?? []) as { '@name'?: string }[]).map((f) => f['@name']).filter((n): n is string => !!n),
    virtType: d['@type'],
    memoryKiB: toKiB(Number(text(memory)), typeof memory === 'object' ? memory['@unit'] : undefined),
    files: [...boot, ...diskFiles],
    diskFiles,
  };
}

export function parseHostUuid(capabilitiesXml: string): string | undefined {
  return xml.parse(capabilitiesXml).capabilities?.host?.uuid;
}

export interface Versions {
  libvirt?: string;
  hypervisor?: string;
}

/** The QEMU version in a host's versions ("QEMU 10.0.2" → "10.0.2"), if its hypervisor is QEMU. */
export function qemuVersionOf(v: Versions): string | undefined {
  return /QEMU (\S+)/.exec(v.hypervisor ?? '')?.[1];
}

/** `virsh version`: "Using library: libvirt 9.0.0", "Running hypervisor: QEMU 10.0.2" */
export function parseVirshVersion(out: string): Versions {
  return {
    libvirt: /Using library: libvirt (\S+)/.exec(out)?.[1],
    hypervisor: /Running hypervisor: (.+)/.exec(out)?.[1]?.trim(),
  };
}

/** `virsh nodememstats`: memory that can be had without swapping (free + buffers + cached), KiB */
export function parseAvailableMemoryKiB(out: string): number | undefined {
  const v = (k: string) => Number(new RegExp(`^${k}\\s*:\\s*(\\d+) KiB`, 'm').exec(out)?.[1] ?? NaN);
  const sum = v('free') + (v('buffers') || 0) + (v('cached') || 0);
  return Number.isFinite(sum) ? sum : undefined;
}

/** `virsh hypervisor-cpu-compare`: identical / superset are fine, incompatible is not */
export function cpuCompareVerdict(out: string): 'compatible' | 'incompatible' | 'unknown' {
  if (/incompatible/i.test(out)) return 'incompatible';
  if (/identical|superset/i.test(out)) return 'compatible';
  return 'unknown';
}

/**
 * libvirt before 11.10.0 refuses an incoming migration into QEMU 10.0 or later with "extra features: ht" (libvirt
 * NEWS 11.10.0; KubeVirt hit it after upgrading, kubevirt/kubevirt#16386). It shows with the host's CPU model
 * (host-model, host-passthrough) and with models naming the ht feature; a custom model without it migrates.
 */
export function htTrap(target: Versions, cpu: { cpuMode: string; cpuFeatures: string[] }): string | undefined {
  const qemu = qemuVersionOf(target);
  if (
    !target.libvirt ||
    !qemu ||
    compareVersions(target.libvirt, '11.10.0') >= 0 ||
    compareVersions(qemu, '10.0.0') < 0
  )
    return undefined;
  if (cpu.cpuMode === 'custom' && !cpu.cpuFeatures.includes('ht')) return undefined;
  return `the target runs libvirt ${target.libvirt} with QEMU ${qemu}: libvirt before 11.10.0 refuses an incoming migration into QEMU 10.0 or later with "extra features: ht" for this domain's CPU (${cpu.cpuMode}${cpu.cpuFeatures.includes('ht') ? ', feature ht' : ''}); upgrade libvirt on the target to 11.10 or later`;
}

/** Compare dotted versions: negative if a < b */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+~-]/).map((x) => parseInt(x, 10) || 0);
  const pb = b.split(/[.+~-]/).map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++)
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
