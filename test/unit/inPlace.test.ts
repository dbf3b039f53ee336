import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InPlaceHostFacts } from '../../src/core/inPlace';
import {
  checkInPlace,
  domainClashes,
  hopLog,
  INPLACE_RUN_DIR,
  parseInPlaceLog,
  parseInPlaceProbe,
  shadowUri,
} from '../../src/core/inPlace';
import { launchInPlaceArgv, removeRunArgv } from '../../src/remote/inPlace';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', name), 'utf8');
// hostA's answers (lab, libvirt 9.0, monolithic libvirtd): the probe, and tiny1's persistent definition
const PROBE = fixture('inplace-probe.txt');
const TINY1 = fixture('inplace-tiny1-inactive.xml');
const withDevice = (xml: string, device: string) => xml.replace('  </devices>', `    ${device}\n  </devices>`);
const hostA = parseInPlaceProbe(PROBE);
const check = (host: InPlaceHostFacts, xml = TINY1, uri = 'qemu:///system', libvirtVersion = '9.0.0') =>
  checkInPlace({ uri, libvirtVersion, host, clashes: domainClashes(xml), domainMemoryKiB: 524288 });

describe('in place: what qualifies a host and a domain', () => {
  it("reads hostA's probe: monolithic libvirtd, no hooks, no AppArmor or SELinux, tiny1's QEMU resident size", () => {
    expect(hostA).toEqual({
      daemon: 'libvirtd',
      unshare: true,
      hooks: [],
      apparmorEnforcing: false,
      selinuxEnforcing: false,
      securityDriver: undefined,
      memAvailableKiB: expect.any(Number),
      qemuRssKiB: expect.any(Number),
      hugePagesFreeKiB: 0,
    });
  });

  it('lets tiny1 on hostA through, with no clash in its definition', () => {
    expect(domainClashes(TINY1)).toEqual({
      fixedTaps: [],
      fixedPorts: [],
      hostdevs: 0,
      tpmEmulator: false,
      virtiofs: false,
      networks: [],
      filterrefs: [],
      secrets: 0,
      hugePages: false,
    });
    expect(check(hostA)).toEqual({ ok: true, refusals: [], notes: [] });
  });

  it('refuses each thing two QEMUs of one domain cannot share, saying what to change or what to use instead', () => {
    const cases: [string, RegExp][] = [
      [
        TINY1.replace("<source bridge='br0'/>", "<source bridge='br0'/>\n      <target dev='tap-web1'/>"),
        /^fixed tap name tap-web1: .*remove <target dev=…> .*or use the round trip$/,
      ],
      [
        withDevice(TINY1, "<graphics type='vnc' port='5901' autoport='no' listen='127.0.0.1'/>"),
        /^fixed display port vnc 5901: .*set autoport='yes', or use the round trip$/,
      ],
      [
        withDevice(
          TINY1,
          "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='3' slot='0' function='0'/></source></hostdev>",
        ),
        /^1 host device passed through: .*detach it first, or use save and restore$/,
      ],
      [withDevice(TINY1, "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>"), /^an emulated TPM: /],
      [
        TINY1.replace("<interface type='bridge'>", "<interface type='network'>").replace(
          "<source bridge='br0'/>",
          "<source network='default'/>",
        ),
        /^interface on libvirt network default: a monolithic libvirtd .*use <interface type='bridge'> with the network's bridge, or the round trip$/,
      ],
      [
        TINY1.replace("<source bridge='br0'/>", "<source bridge='br0'/>\n      <filterref filter='clean-traffic'/>"),
        /^network filter clean-traffic: /,
      ],
    ];
    for (const [xml, why] of cases) {
      const result = check(hostA, xml);
      expect(result.ok).toBe(false);
      expect(result.refusals).toEqual([expect.stringMatching(why)]);
    }
    // libvirt's own tap names are new per QEMU: no clash
    expect(
      check(hostA, TINY1.replace("<source bridge='br0'/>", "<source bridge='br0'/>\n      <target dev='vnet7'/>")).ok,
    ).toBe(true);
    // a modular host reaches its network and filter daemons from the second daemon: no refusal for those
    const modular = { ...hostA, daemon: 'virtqemud' as const };
    expect(check(modular, TINY1.replace("<interface type='bridge'>", "<interface type='network'>")).ok).toBe(true);
  });

  it('refuses for the host: another URI, an old libvirt, no unshare, AppArmor or SELinux enforcing, too little memory', () => {
    expect(check(hostA, TINY1, 'qemu+ssh://x/system').refusals).toEqual([
      expect.stringMatching(/^Ferry reaches libvirt as qemu\+ssh/),
    ]);
    expect(check(hostA, TINY1, 'qemu:///system', '4.10.0').refusals).toEqual([
      expect.stringMatching(/^libvirt 4\.10\.0 also compares host names.*libvirt 5\.0\.0 or later/),
    ]);
    expect(check({ ...hostA, unshare: false }).refusals).toEqual([expect.stringMatching(/^unshare \(util-linux\)/)]);
    expect(check({ ...hostA, apparmorEnforcing: true }).refusals).toEqual([
      expect.stringMatching(/^AppArmor confines QEMU/),
    ]);
    expect(check({ ...hostA, apparmorEnforcing: true, securityDriver: 'none' }).ok).toBe(true);
    expect(check({ ...hostA, selinuxEnforcing: true }).refusals).toEqual([
      expect.stringMatching(/^SELinux is enforcing/),
    ]);
    expect(check({ ...hostA, memAvailableKiB: 400_000, qemuRssKiB: 584_492 }).refusals).toEqual([
      'memory: a second copy of the guest (571 MiB resident) needs more than the 391 MiB available; free some, or use the round trip',
    ]);
    expect(check({ ...hostA, hooks: ['qemu'] }).notes).toEqual([
      expect.stringMatching(/^the system daemon's hooks \(qemu\) see the domain stop and start again/),
    ]);
  });
});

describe("in place: the run's log", () => {
  it('reads a whole run as hostA wrote it: both hops, where the domain is, the exit', () => {
    const log = parseInPlaceLog(fixture('inplace-run-log.txt'));
    expect(log).toMatchObject({
      daemon: 'libvirtd',
      phase: 'ended',
      where: 'system',
      exit: 0,
      errors: [],
      attempts: [
        { hop: 1, k: 1, exit: 0 },
        { hop: 2, k: 2, exit: 0 },
      ],
    });
    expect(log.shadowPid).toBeGreaterThan(0);
  });

  it('reads a run that was cut short and tried again', () => {
    const log = parseInPlaceLog(
      [
        'phase=starting daemon=virtqemud at=1796553819133',
        'shadow=26979',
        'phase=hop1 k=1 at=1796553819535',
        'hop1=0 k=1 at=1796553823536',
        'phase=hop2 k=2 at=1796553823545',
        'hop2=1 k=2 at=1796553826488',
        'hop2: error: Disconnected from qemu+unix:///system?socket=/run/ferry-inplace.PHE3kZ7h21/sock/libvirt-sock due to end of file',
        'shadow-restarted',
        'shadow=27001',
        'phase=hop2 k=3 at=1796553829000',
        'ferry-exit=1', // still being written: "ferry-exit=12" perhaps
      ].join('\n'),
    );
    expect(log).toMatchObject({ daemon: 'virtqemud', phase: 'hop2', shadowPid: 27001, shadowRestarted: 1 });
    expect(log.exit).toBeUndefined();
    expect(log.attempts.map((a) => [a.hop, a.k, a.exit])).toEqual([
      [1, 1, 0],
      [2, 2, 1],
      [2, 3, undefined],
    ]);
    expect(log.errors).toEqual([expect.stringMatching(/^Disconnected from qemu\+unix/)]);
  });

  it('names only the run folders mktemp makes, and its sockets and logs inside them', () => {
    const run = '/run/ferry-inplace.Ab3dE6gH9k';
    expect(INPLACE_RUN_DIR.test(run)).toBe(true);
    for (const bad of ['/run/ferry-inplace.x/../../etc', '/tmp/ferry-inplace.Ab3dE6gH9k', `${run}\n`, '/'])
      expect(INPLACE_RUN_DIR.test(bad)).toBe(false);
    expect(() => removeRunArgv('/')).toThrow(/not an in-place run folder/);
    expect(removeRunArgv(run)).toEqual(['rm', '-rf', '--', run]);
    expect(shadowUri(run, 'libvirtd')).toBe(`qemu+unix:///system?socket=${run}/sock/libvirt-sock`);
    expect(shadowUri(run, 'virtqemud')).toBe(`qemu+unix:///system?socket=${run}/sock/virtqemud-sock`);
    expect(hopLog(run, 3)).toBe(`${run}/hop-3.log`);
    expect(() => launchInPlaceArgv('tiny1; reboot', 'auto')).toThrow();
  });
});
