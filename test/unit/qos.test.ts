import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDecimal } from '../../src/core/text';
import {
  describeLimits,
  domIfTuneSetArgv,
  kernelMismatches,
  parseDomIfTune,
  parseInterfaces,
  parseKernelQos,
  parseTcRate,
  parseTcSize,
  planQos,
  sameBandwidth,
} from '../../src/core/qos';
import { kernelQosArgv } from '../../src/remote/qos';

// captured on the lab's hostA (libvirt 9.0, iproute2 6.1) with inbound 1250,2500,64 and outbound 625 set live
const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'qos', name), 'utf8');
const UUID = '6a3e1b52-7c1d-4e8f-9a0b-00000000aaaa';
const MAC = '52:54:00:00:01:64';
const bridge = { type: 'bridge', uri: 'qemu:///system' };

describe('units: what the user enters, what libvirt stores, what the kernel enforces', () => {
  it('10 Mbit/s is 1250 kB/s (libvirt counts 1000 bytes/s), MiB/s is 1048.576, 1 Gbit/s is 125000', () => {
    const plan = planQos({ unit: 'Mbit/s', burstUnit: 'KiB', inbound: { average: 10, peak: 20, burst: 64 } }, bridge);
    expect(plan.problems).toEqual([]);
    expect(plan.bandwidth.inbound).toEqual({ average: 1250, peak: 2500, burst: 64, floor: undefined });
    expect(
      planQos({ unit: 'MiB/s', burstUnit: 'MiB', inbound: { average: 1, burst: 1 } }, bridge).bandwidth.inbound,
    ).toMatchObject({ average: 1049, burst: 1024 });
    expect(
      planQos({ unit: 'Gbit/s', burstUnit: 'KiB', outbound: { average: 1 } }, bridge).bandwidth.outbound?.average,
    ).toBe(125_000);
    expect(plan.conversions[0]).toBe('inbound average: 10 Mbit/s → libvirt 1250 kB/s → kernel 10,000 kbit/s');
  });

  it('a non-zero value that would be stored as 0 is refused, and becomes the smallest limit only when asked', () => {
    const change = { unit: 'kbit/s' as const, burstUnit: 'KiB' as const, inbound: { average: 3 } };
    const refused = planQos(change, bridge);
    expect(refused.roundsToZero[0]).toMatch(
      /inbound average 3 kbit\/s is 0.375 kB\/s, which libvirt would store as 0, meaning no limit at all. The smallest limit is 1 kB\/s \(8 kbit\/s\)/,
    );
    expect(planQos(change, bridge, true).bandwidth.inbound?.average).toBe(1);
    expect(
      planQos({ unit: 'Mbit/s', burstUnit: 'KiB', inbound: { average: 1, burst: 0.4 } }, bridge).roundsToZero[0],
    ).toMatch(/burst 0.4 KiB rounds to 0 KiB/);
  });

  it('refuses what libvirt accepts and the kernel does not: peak below average, too large, floor, outbound peak, types, session', () => {
    const problems = (change: Parameters<typeof planQos>[0], target = bridge) =>
      planQos(change, target).problems.join('\n');
    expect(problems({ unit: 'Mbit/s', burstUnit: 'KiB', inbound: { average: 10, peak: 5 } })).toMatch(
      /peak \(5 Mbit\/s\) is below the average \(10 Mbit\/s\)/,
    );
    expect(problems({ unit: 'Gbit/s', burstUnit: 'KiB', inbound: { average: 40000 } })).toMatch(
      /above libvirt's maximum of 34359.738 Gbit\/s/,
    );
    expect(problems({ unit: 'Mbit/s', burstUnit: 'KiB', inbound: { average: 10, burst: 4194304 } })).toMatch(
      /above the largest burst tc accepts, 4194303 KiB/,
    );
    expect(problems({ unit: 'Mbit/s', burstUnit: 'KiB', inbound: { average: 10, floor: 5 } })).toMatch(
      /floor needs an interface of type 'network'/,
    );
    expect(problems({ unit: 'Mbit/s', burstUnit: 'KiB', outbound: { average: 10, peak: 20 } })).toMatch(
      /outbound peak is ignored by the kernel/,
    );
    expect(problems({ unit: 'Mbit/s', burstUnit: 'KiB', inbound: { average: 0, peak: 20 } })).toMatch(
      /peak and burst need an average/,
    );
    expect(
      problems({ unit: 'Mbit/s', burstUnit: 'KiB', inbound: { average: 10 } }, { type: 'user', uri: 'qemu:///system' }),
    ).toMatch(/'user' interface takes no bandwidth limit/);
    expect(
      problems(
        { unit: 'Mbit/s', burstUnit: 'KiB', inbound: { average: 10 } },
        { type: 'bridge', uri: 'qemu:///session' },
      ),
    ).toMatch(/session-mode libvirt/);
    expect(problems({ unit: 'Mbit/s', burstUnit: 'KiB', inbound: { average: Number.NaN } })).toMatch(/is not a rate/);
    expect(problems({ unit: 'Mbit/s', burstUnit: 'KiB', inbound: { average: 10, peak: 10, burst: 64 } })).toBe('');
  });

  it('takes a typed rate or burst as plain decimal digits only, with at most one decimal point', () => {
    expect(parseDecimal('12')).toBe(12);
    expect(parseDecimal('1.5')).toBe(1.5);
    expect(parseDecimal('0')).toBe(0);
    expect(parseDecimal('007')).toBe(7);
    expect(parseDecimal('.5')).toBe(0.5);
    expect(parseDecimal('5.')).toBe(5);
    // blanks around it are no other number (a pasted value often has them); nothing typed leaves the field empty
    expect(parseDecimal(' 12 ')).toBe(12);
    expect(parseDecimal('')).toBeUndefined();
    expect(parseDecimal('  ')).toBeUndefined();
    // what Number() would take and a rate box does not mean: hex, binary, octal, exponents, signs, Infinity, separators
    for (const typed of [
      '0x10',
      '0b11',
      '0o7',
      '1e3',
      '1E3',
      '-0',
      '-5',
      '+5',
      'Infinity',
      '-Infinity',
      'NaN',
      '1_000',
      '1,5',
      '1 000',
      '1.2.3',
      '.',
      '12 Mbit/s',
      '١٢',
      '１２',
    ]) {
      expect(() => parseDecimal(typed), typed).toThrow(
        `${JSON.stringify(typed)} is not a plain decimal number: enter digits with at most one decimal point, such as 12 or 1.5.`,
      );
    }
    expect(() => parseDecimal('9'.repeat(400))).toThrow(/is too large/);
  });

  it('always sends whole directions: peak and burst the user did not touch go with the average', () => {
    const argv = domIfTuneSetArgv(
      'qemu:///system',
      UUID,
      MAC,
      { inbound: { average: 1250, peak: 2500, burst: 64 }, outbound: { average: 0 } },
      'live',
    );
    expect(argv.slice(-6)).toEqual([MAC, '--live', '--inbound', '1250,2500,64', '--outbound', '0,0,0']);
    expect(() =>
      domIfTuneSetArgv('qemu:///system', UUID, "52:54:00:00:01:64'; reboot", { inbound: { average: 1 } }, 'live'),
    ).toThrow(/not a MAC address/);
  });
});

describe('reading back what libvirt stores and what the kernel enforces', () => {
  it('reads interfaces and their <bandwidth> from the live XML', () => {
    expect(parseInterfaces(fixture('tiny1-live.xml'))).toEqual([
      {
        mac: MAC,
        type: 'bridge',
        source: 'br0',
        model: 'virtio',
        device: 'vnet5',
        bandwidth: {
          inbound: { average: 1250, peak: 2500, burst: 64, floor: undefined },
          outbound: { average: 625, peak: undefined, burst: undefined, floor: undefined },
        },
      },
    ]);
    const stored = parseDomIfTune(fixture('domiftune.txt'));
    expect(stored).toEqual({
      inbound: { average: 1250, peak: 2500, burst: 64, floor: undefined },
      outbound: { average: 625, peak: undefined, burst: undefined, floor: undefined },
    });
    expect(describeLimits(stored, 'Mbit/s')).toBe('↓ 10 Mbit/s (peak 20 Mbit/s) · ↑ 5 Mbit/s');
    expect(describeLimits({}, 'Mbit/s')).toBe('no limit');
    expect(sameBandwidth(stored, parseInterfaces(fixture('tiny1-live.xml'))[0].bandwidth)).toBe(true);
    expect(sameBandwidth(stored, { inbound: stored.inbound })).toBe(false);
  });

  it('tc rates and sizes in bits/s and bytes', () => {
    expect([parseTcRate('10Mbit'), parseTcRate('8200Kbit'), parseTcRate('500bit'), parseTcRate('1Gibit')]).toEqual([
      10e6,
      8.2e6,
      500,
      1024 ** 3,
    ]);
    expect([parseTcSize('64Kb'), parseTcSize('1600b'), parseTcSize('2Mb')]).toEqual([65536, 1600, 2097152]);
    expect(() => parseTcRate('10Mbps')).toThrow(/unexpected tc rate/);
  });

  it('on the lab kernel (no act_police) inbound is shaped as asked and outbound is reported as not enforced', () => {
    const text = `${fixture('tc-class-htb.txt')}@@filter\n@@qdisc\n${fixture('tc-ingress-no-police.txt')}@@bytes\n123\n456\n`;
    const kernel = parseKernelQos(text);
    expect(kernel).toMatchObject({
      htb: { rateBits: 10e6, ceilBits: 20e6, burstBytes: 65536, sentBytes: 42, dropped: 0 },
      ingress: true,
      txBytes: 123,
      rxBytes: 456,
    });
    expect(kernel.police).toBeUndefined();
    const problems = kernelMismatches(parseDomIfTune(fixture('domiftune.txt')), kernel, 'bridge', 'vnet5');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^The outbound limit \(5 Mbit\/s\) is not enforced by the host's kernel: vnet5 has an ingress qdisc but no police filter/,
    );
    // the same read against a different stored average is a mismatch with both figures
    expect(kernelMismatches({ inbound: { average: 5000 } }, kernel, 'bridge', 'vnet5').join('\n')).toMatch(
      /inbound average: libvirt stores 40 Mbit\/s, the kernel shapes vnet5 at 10 Mbit\/s/,
    );
    // macvtap: the guest's inbound is the policer, its outbound the HTB class
    expect(
      kernelMismatches({ outbound: { average: 1250, peak: 2500, burst: 64 } }, kernel, 'direct', 'macvtap0'),
    ).toEqual([]);
  });

  it('an interface without limits has no class and no ingress; a policer, when the kernel has one, is read', () => {
    const none = parseKernelQos(`${fixture('tc-unlimited.txt')}@@filter\n@@qdisc\n@@bytes\n`);
    expect(none).toEqual({ ingress: false });
    expect(kernelMismatches({}, none, 'bridge', 'vnet5')).toEqual([]);
    // iproute2 6.1's police line (m_police.c print format; this lab's kernel has no act_police to show one)
    const policed = parseKernelQos(
      '@@filter\nfilter parent ffff: protocol all pref 49152 u32 chain 0 fh 800::800 order 2048 key ht 800 bkt 0 flowid :1 not_in_hw\n  match 00000000/00000000 at 0\n\taction order 1:  police 0x1 rate 5Mbit burst 625Kb mtu 64Kb action drop overhead 0b\n@@qdisc\nqdisc ingress ffff: parent ffff:fff1 ----------------\n@@bytes\n',
    );
    expect(policed.police).toEqual({ rateBits: 5e6, burstBytes: 640000 });
    expect(kernelMismatches({ outbound: { average: 625 } }, policed, 'bridge', 'vnet5')).toEqual([]);
  });

  it('a device name from a domain XML never leaves /sys/class/net or reaches a shell', () => {
    expect(kernelQosArgv('vnet5').slice(-2)).toEqual(['ferry-qos', 'vnet5']);
    for (const bad of ['..', '.', '../../etc', 'a b', 'x'.repeat(16), ''])
      expect(() => kernelQosArgv(bad)).toThrow(/not a host network device name/);
  });
});
