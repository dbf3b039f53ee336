/**
 * Interface QoS on a host: read a domain's interfaces with their limits, set a limit (whole directions, live and/or
 * persistent), and prove it: read back what libvirt stores in each scope and what the kernel enforces on the
 * device. A difference is an error the user sees, never a silent success.
 */
import type { ServiceSettings } from './settings';
import type { Finding } from '../core/diagnosis';
import type { Bandwidth, DomainInterface, KernelQos, QosPlan, Scope } from '../core/qos';
import {
  describeLimits,
  DIRECTIONS,
  domIfTuneReadArgv,
  domIfTuneSetArgv,
  kernelMismatches,
  parseDomIfTune,
  parseInterfaces,
  parseKernelQos,
  sameBandwidth,
} from '../core/qos';
import { assertUuid, virsh } from '../core/virsh';
import { kernelQosArgv } from '../remote/qos';
import type { HostConnection } from '../transport/hostConnection';
import type { Logger } from '../transport/logger';
import { virshErrorText } from './libvirtError';

/** An interface as the tree shows it: what libvirt stores for the running domain, and whether the kernel agrees. */
export interface InterfaceState extends DomainInterface {
  /** what the kernel does not enforce of the stored limits (empty when it all holds, or nothing is set) */
  kernelProblems: string[];
}

export interface QosResult {
  /** read back per scope after the change */
  stored: Partial<Record<Scope, Bandwidth>>;
  kernel?: KernelQos;
  /** where what was asked, what libvirt stores and what the kernel enforces differ */
  mismatches: string[];
}

export class QosRefused extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'QosRefused';
  }
}

async function run(host: HostConnection, argv: readonly string[], what: string): Promise<string> {
  const r = await host.exec(argv, { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`${host.alias}: ${what}: ${virshErrorText(r.stderr, r.code)}`);
  return r.stdout;
}

/** The kernel's view of a host device: shaping class, policer, counters. */
export async function readKernelQos(host: HostConnection, device: string): Promise<KernelQos> {
  const r = await host.exec(kernelQosArgv(device), { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`${host.alias}: reading tc on ${device}: ${r.stderr.trim() || `exit ${r.code}`}`);
  return parseKernelQos(r.stdout);
}

/** A domain's interfaces from its live XML (its definition when shut off), each running one checked on the host. */
export async function readInterfaces(
  host: HostConnection,
  uri: string,
  uuid: string,
  running: boolean,
): Promise<InterfaceState[]> {
  assertUuid(uuid);
  const xml = await run(
    host,
    virsh(uri, 'dumpxml', ...(running ? [] : ['--inactive']), uuid),
    'reading the domain definition',
  );
  return Promise.all(
    parseInterfaces(xml).map(async (i): Promise<InterfaceState> => {
      const limited = DIRECTIONS.some((d) => i.bandwidth[d]);
      if (!running || !i.device || !limited) return { ...i, kernelProblems: [] };
      try {
        const kernel = await readKernelQos(host, i.device);
        return { ...i, kernelProblems: kernelMismatches(i.bandwidth, kernel, i.type, i.device) };
      } catch (e) {
        // one interface the kernel cannot be asked about (an odd device name, tc missing) leaves the others shown
        return {
          ...i,
          kernelProblems: [`Whether the kernel enforces these limits is unknown: ${(e as Error).message}`],
        };
      }
    }),
  );
}

/**
 * After a migration: the limits the domain carries in its live XML on the target, against what the target's kernel
 * enforces on its new device. A finding per limited interface; none when no interface has a limit.
 */
export async function migratedQosFindings(target: HostConnection, uri: string, uuid: string): Promise<Finding[]> {
  const interfaces = await readInterfaces(target, uri, uuid, true);
  return interfaces
    .filter((i) => DIRECTIONS.some((d) => i.bandwidth[d]))
    .map((i): Finding => {
      const limits = describeLimits(i.bandwidth, 'Mbit/s');
      return i.kernelProblems.length
        ? {
            id: 'qos-not-kept',
            severity: 'problem',
            title: `Interface limits not in force on ${target.alias}`,
            evidence: `${i.mac} (${limits}): ${i.kernelProblems.join(' ')}`,
            fix: 'Set the limit again with "Set Interface Bandwidth…" on the interface, and check the host kernel has the tc modules (sch_htb, act_police).',
          }
        : {
            id: 'qos-kept',
            severity: 'info',
            title: `Interface limits kept on ${target.alias}`,
            evidence: `${i.mac}: ${limits}, enforced on ${i.device}.`,
          };
    });
}

export class QosService {
  constructor(
    private readonly settings: Pick<ServiceSettings, 'libvirtUri'>,
    private readonly log: Logger,
  ) {}

  interfaces(host: HostConnection, uuid: string, running: boolean): Promise<InterfaceState[]> {
    return readInterfaces(host, this.settings.libvirtUri, uuid, running);
  }

  kernel(host: HostConnection, device: string): Promise<KernelQos> {
    return readKernelQos(host, device);
  }

  /**
   * Apply a checked plan to one interface in the given scopes, then read everything back. Throws QosRefused when the
   * plan still has problems (nothing is sent), and libvirt's message when it refuses.
   */
  async apply(
    host: HostConnection,
    uuid: string,
    iface: DomainInterface,
    plan: QosPlan,
    scopes: readonly Scope[],
  ): Promise<QosResult> {
    if (plan.problems.length || plan.roundsToZero.length)
      throw new QosRefused([...plan.problems, ...plan.roundsToZero]);
    if (!scopes.length) throw new QosRefused(['Choose live, persistent or both.']);
    const uri = this.settings.libvirtUri;
    for (const scope of scopes) {
      this.log.info(`qos: ${host.alias} ${uuid} ${iface.mac} ${scope}: ${JSON.stringify(plan.bandwidth)}`);
      await run(
        host,
        domIfTuneSetArgv(uri, uuid, iface.mac, plan.bandwidth, scope),
        `setting the bandwidth of ${iface.mac} (${scope})`,
      );
    }
    return this.verify(host, uuid, iface, plan.bandwidth, scopes);
  }

  /** What each scope stores for the directions asked, and (live) what the kernel enforces on the device. */
  async verify(
    host: HostConnection,
    uuid: string,
    iface: DomainInterface,
    asked: Bandwidth,
    scopes: readonly Scope[],
  ): Promise<QosResult> {
    const uri = this.settings.libvirtUri;
    const result: QosResult = { stored: {}, mismatches: [] };
    const only = (bw: Bandwidth): Bandwidth =>
      Object.fromEntries(DIRECTIONS.filter((d) => asked[d]).map((d) => [d, bw[d]]));
    for (const scope of scopes) {
      const stored = parseDomIfTune(
        await run(
          host,
          domIfTuneReadArgv(uri, uuid, iface.mac, scope),
          `reading back the bandwidth of ${iface.mac} (${scope})`,
        ),
      );
      result.stored[scope] = stored;
      if (!sameBandwidth(only(stored), only(asked))) {
        result.mismatches.push(
          `libvirt's ${scope === 'live' ? 'live' : 'persistent'} setting of ${iface.mac} is ${JSON.stringify(only(stored))}, not the ${JSON.stringify(only(asked))} asked.`,
        );
      }
    }
    const live = result.stored.live;
    if (live && iface.device) {
      result.kernel = await readKernelQos(host, iface.device);
      result.mismatches.push(
        ...kernelMismatches(
          live,
          result.kernel,
          iface.type,
          iface.device,
          DIRECTIONS.filter((d) => asked[d]),
        ),
      );
    }
    return result;
  }
}
