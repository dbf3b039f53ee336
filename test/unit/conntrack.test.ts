import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addressListProblem,
  conntrackVersionProblem,
  LISTED_MARK,
  LOADED_MARK,
  parseExport,
  parseExtendedFlow,
  splitGatePath,
} from '../../src/core/conntrack';
import { exportArgv, listAndDigestArgv, loadAndDigestArgv } from '../../src/remote/conntrack';

// conntrack-tools 1.4.7 output for the same three flows: -o save (what conntrack itself would load) and -o extended
const fixture = readFileSync(join(__dirname, '..', 'fixtures', 'conntrack-export.txt'), 'utf8');
const [saveText, extendedText] = fixture.split('@@ferry-extended@@');
const saveLines = saveText.split('\n').filter((l) => l.startsWith('-A '));

describe('conntrack export (captured from conntrack-tools 1.4.7)', () => {
  it('recreates exactly the lines -o save prints, plus the mark -o save drops', () => {
    const { flows, skipped } = parseExport(extendedText);
    expect(skipped).toBe(0);
    const withoutMark = (l: string) => l.replace(/ -m \d+$/, '');
    // timeouts tick between the two listings; everything else must match conntrack's own save format
    const norm = (l: string) => l.replace(/-t \d+/, '-t T');
    expect(flows.map((f) => norm(withoutMark(f.line))).sort()).toEqual(saveLines.map(norm).sort());
    const tcp = flows.find((f) => f.line.includes('-p tcp'))!;
    expect(tcp.line).toMatch(/ -w 7 .* --state ESTABLISHED -m 4242$/);
    expect(tcp.mark).toBe('4242');
    expect(flows.filter((f) => f.mark !== '0')).toHaveLength(1);
  });

  it('lists each flow once when it matches both as source and destination', () => {
    expect(parseExport(`${extendedText}\n${extendedText}`).flows).toHaveLength(3);
  });

  it('recreates IPv6, icmpv6, zoned, marked and counted flows as they were made (conntrack -I in the lab, then listed)', () => {
    // each line listed after `conntrack -I` with the arguments below (the timers ticked); the last is the host's own
    const listed = readFileSync(join(__dirname, '..', 'fixtures', 'conntrack-extended-more.txt'), 'utf8')
      .trim()
      .split('\n');
    const made = [
      '-A -t 299 -u SEEN_REPLY,ASSURED -w 3 -s fd00::1 -d fd00::65 -r fd00::65 -q fd00::1 -p tcp --sport 40000 --dport 443 --reply-port-src 443 --reply-port-dst 40000 --state ESTABLISHED -m 9',
      '-A -t 119 -u SEEN_REPLY,ASSURED -s 198.51.100.7 -d 198.51.100.20 -r 198.51.100.20 -q 198.51.100.7 -p udp --sport 6000 --dport 7 --reply-port-src 7 --reply-port-dst 6000',
      '-A -t 119 -u SEEN_REPLY -s 198.51.100.9 -d 198.51.100.20 -r 198.51.100.20 -q 198.51.100.9 -p tcp --sport 6002 --dport 22 --reply-port-src 22 --reply-port-dst 6002 --state TIME_WAIT',
      '-A -t 119 -u UNSET -s 198.51.100.8 -d 198.51.100.20 -r 198.51.100.20 -q 198.51.100.8 -p tcp --sport 6001 --dport 22 --reply-port-src 22 --reply-port-dst 6001 --state SYN_SENT',
      '-A -t 29 -u UNSET -s fd00::65 -d fd00::1 -r fd00::1 -q fd00::65 -p icmpv6 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 4711',
      // with nf_conntrack_acct=1: packet and byte counters in both tuples
      '-A -t 119 -u SEEN_REPLY,ASSURED -s 198.51.100.10 -d 198.51.100.20 -r 198.51.100.20 -q 198.51.100.10 -p tcp --sport 6003 --dport 22 --reply-port-src 22 --reply-port-dst 6003 --state ESTABLISHED',
      '-A -t 1 -u SEEN_REPLY,ASSURED -s 10.0.0.11 -d 10.0.0.12 -r 10.0.0.12 -q 10.0.0.11 -p tcp --sport 60524 --dport 22 --reply-port-src 22 --reply-port-dst 60524 --state TIME_WAIT',
    ];
    expect(listed.map((l) => parseExtendedFlow(l)?.line)).toEqual(made);
    expect(new Set(listed.map((l) => parseExtendedFlow(l)?.key)).size).toBe(listed.length);
  });

  it('skips what is not a tcp/udp/icmp flow', () => {
    expect(parseExtendedFlow('conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.')).toBeUndefined();
    expect(
      parseExtendedFlow(
        'ipv4     2 gre      47 29 src=1.1.1.1 dst=2.2.2.2 srckey=0x0 dstkey=0x0 src=2.2.2.2 dst=1.1.1.1 srckey=0x0 dstkey=0x0 mark=0 use=1',
      ),
    ).toBeUndefined();
  });

  it('refuses anything but IP addresses', () => {
    expect(() => exportArgv(['10.0.1.100; reboot'])).toThrow(/not an IP address/);
    expect(() => exportArgv(['300.1.1.1'])).toThrow(/not an IP address/);
    expect(exportArgv(['10.0.1.100', 'FD00:0:0::64']).slice(-2)).toEqual(['10.0.1.100', 'fd00::64']);
  });
});

describe("the switchover gate's path line", () => {
  const flows = extendedText.replace(/^\n/, '');

  it('is taken out of the flows, which parse as before', () => {
    const split = splitGatePath(`ferry-path events\n${flows}`);
    expect(split).toEqual({ path: 'events', flows });
    expect(parseExport(split.flows).flows).toHaveLength(3);
    expect(splitGatePath(`ferry-path relisted-enobufs\n`)).toEqual({ path: 'relisted-enobufs', flows: '' });
  });

  it('names no path it does not know, and none when the host printed none', () => {
    expect(splitGatePath(`ferry-path whatever\n${flows}`)).toEqual({ path: undefined, flows });
    expect(splitGatePath(flows)).toEqual({ flows });
  });
});

describe('what stops a sync before it starts', () => {
  it('names conntrack-tools missing or older than 1.4.7', () => {
    expect(conntrackVersionProblem(0, 'conntrack v1.4.7 (conntrack-tools)\n')).toBeUndefined(); // Debian 12
    expect(conntrackVersionProblem(0, 'conntrack v1.4.8 (conntrack-tools)\n')).toBeUndefined();
    expect(conntrackVersionProblem(0, 'conntrack v1.5.0 (conntrack-tools)\n')).toBeUndefined();
    expect(conntrackVersionProblem(0, 'conntrack v1.4.6 (conntrack-tools)\n')).toMatch(
      /1\.4\.6 is too old: Ferry needs 1\.4\.7/,
    );
    expect(conntrackVersionProblem(0, 'conntrack v1.3.9 (conntrack-tools)\n')).toMatch(/too old/);
    expect(conntrackVersionProblem(127, 'bash: line 1: conntrack: command not found\n')).toMatch(
      /not installed \(Debian\/Ubuntu: apt install conntrack\)/,
    );
    expect(conntrackVersionProblem(1, 'something else')).toMatch(/cannot read the conntrack version/);
  });

  it("refuses addresses the host knows as another domain's, and takes the user's word for unknown ones", () => {
    const others = [{ name: 'tiny2', ips: ['10.0.1.101', 'fd00::65'] }];
    expect(addressListProblem('10.0.1.100', others)).toBeUndefined();
    expect(addressListProblem('10.0.1.100, 10.0.1.7', others)).toBeUndefined(); // nobody is known to hold .7
    expect(addressListProblem('10.0.1.100 FD00::65', others)).toBe(
      'FD00::65 is an address of tiny2, not of this domain: its flows belong to another machine',
    );
    expect(addressListProblem('', others)).toBe('at least one address');
    expect(addressListProblem('10.0.1.100; reboot', others)).toMatch(/not an IP address/);
  });

  it("knows another domain's address in any form it can be written in", () => {
    const others = [
      { name: 'tiny2', ips: ['10.0.1.101', 'fd00::65'] },
      { name: 'tiny3', ips: ['FD00:0:0::66'] },
    ];
    const owner = (typed: string) => addressListProblem(`10.0.1.100 ${typed}`, others);
    for (const typed of [
      'fd00:0:0::65',
      'fd00:0000:0000:0000:0000:0000:0000:0065',
      'FD00::0065',
      'fd00:0::0:65',
      '::ffff:10.0.1.101',
      '::FFFF:a00:165',
      '0:0:0:0:0:ffff:0a00:0165',
    ]) {
      expect(owner(typed), typed).toBe(
        `${typed} is an address of tiny2, not of this domain: its flows belong to another machine`,
      );
    }
    // the other domain's own address in a form of its own
    expect(owner('fd00::66')).toMatch(/is an address of tiny3/);
    // near, but another address
    expect(owner('fd00::6')).toBeUndefined();
    expect(owner('::10.0.1.101')).toBeUndefined(); // IPv4-compatible, not IPv4-mapped: another address to the kernel
  });

  it('refuses what only looks like an address', () => {
    for (const typed of [
      '1::2::3',
      'fd00::1::',
      ':::',
      'fd00:1:2:3:4:5:6:7:8',
      '010.0.1.5',
      '10.0.1',
      'fe80::1%eth0',
      '::ffff:10.0.1.500',
      '0x0a.0.1.5',
      '١٠.0.1.5',
    ]) {
      expect(addressListProblem(typed), typed).toMatch(/not an IP address/);
      expect(() => exportArgv([typed]), typed).toThrow(/not an IP address/);
    }
  });

  it("hands the host every address as conntrack prints it, and the kernel's table as it writes it", () => {
    expect(exportArgv(['FD00:0:0::64', '::FFFF:10.0.1.5', '::ffff:a00:106', '0:0:0:0:0:0:0:1']).slice(-4)).toEqual([
      'fd00::64',
      '::ffff:10.0.1.5',
      '::ffff:10.0.1.6',
      '::1',
    ]);
    expect(loadAndDigestArgv(['10.0.1.5', '::ffff:10.0.1.5', 'fd00::64'], true).slice(-5)).toEqual([
      '10.0.1.5',
      '::ffff:10.0.1.5',
      'fd00::64',
      '0000:0000:0000:0000:0000:ffff:0a00:0105',
      'fd00:0000:0000:0000:0000:0000:0000:0064',
    ]);
  });
});

describe("the digests that prove a load: the source's of what it listed, the target's of what it holds", () => {
  /**
   * argv run by this machine's sh and awk, with a conntrack that lists `listing` (and loads nothing), and the
   * kernel's table at `table` holding `kernelTable` when given (else absent)
   */
  const run = (argv: (table: string) => readonly string[], listing: string, kernelTable?: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-conntrack-'));
    try {
      writeFileSync(join(dir, 'listing'), listing);
      if (kernelTable !== undefined) writeFileSync(join(dir, 'nf_conntrack'), kernelTable);
      writeFileSync(
        join(dir, 'conntrack'),
        `#!/bin/sh\ncase "$1" in -R) cat >/dev/null;; -L) cat '${join(dir, 'listing')}';; esac\n`,
      );
      chmodSync(join(dir, 'conntrack'), 0o755);
      const [cmd, ...args] = argv(join(dir, 'nf_conntrack'));
      return spawnSync(cmd, args, {
        input: '',
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
        encoding: 'utf8',
      });
    } finally {
      rmSync(dir, { recursive: true });
    }
  };
  const addresses = ['198.51.100.20', '198.51.100.1'];
  const md5 = (text: string) => /^[0-9a-f]{32}\b/m.exec(text)?.[0];
  const sourceDigest = (listing: string, of = addresses) => {
    const r = run(() => listAndDigestArgv(of), listing);
    expect(r.stdout).toBe(
      `${listing
        .split('\n')
        .filter((l) => of.some((a) => l.includes(`src=${a} `) || l.includes(`dst=${a} `)))
        .join('\n')}\n${LISTED_MARK}\n`,
    );
    return md5(r.stderr);
  };
  /** the target's digest of `listing` as `conntrack -L` prints it, or of `kernelTable` as its kernel's table holds it */
  const targetDigest = (listing: string, kernelTable?: string, of = addresses) => {
    const r = run((table) => loadAndDigestArgv(of, true, table), listing, kernelTable);
    expect(r.stdout.startsWith(`${LOADED_MARK}\n`)).toBe(true);
    return md5(r.stdout.slice(LOADED_MARK.length + 1));
  };
  const lines = extendedText.split('\n').filter((l) => parseExtendedFlow(l));
  const listed = lines.join('\n');
  /** the same flows as the target lists them after a load: other timers, reference counts and packet counters */
  const onTarget = lines.map((l) =>
    l
      .replace(/ (\d+) ([A-Z]+ )?src=/, ' 17 $2src=')
      .replace(/use=\d+/, 'use=2')
      .replace(/(dport=\d+|id=\d+) src=/, '$1 packets=0 bytes=0 src='),
  );

  it('are equal for the flows moved, whatever their timers and counters (each flow listed twice, for two addresses)', () => {
    expect(lines).toHaveLength(3);
    expect(onTarget.join('\n')).not.toBe(listed);
    const sent = sourceDigest(`${listed}\n${listed}`);
    expect(sent).toMatch(/^[0-9a-f]{32}$/);
    expect(targetDigest(`${onTarget.join('\n')}\n${onTarget.join('\n')}`)).toBe(sent);
  });

  it('differ when a flow is missing, has another mark or state, or is extra', () => {
    const sent = sourceDigest(listed);
    expect(targetDigest(lines.slice(1).join('\n'))).not.toBe(sent);
    expect(targetDigest(listed.replace('mark=4242', 'mark=4243'))).not.toBe(sent);
    expect(targetDigest(listed.replace('ESTABLISHED', 'TIME_WAIT'))).not.toBe(sent);
    const extra = lines[0].replace('sport=48550', 'sport=48551').replace('dport=48550', 'dport=48551');
    expect(targetDigest(`${listed}\n${extra}`)).not.toBe(sent);
  });

  it("are equal when the target reads its kernel's table (IPv6 written out whole, zone=0 shown), and differ as above", () => {
    // the same five flows, listed at once both ways in the lab
    const [listing, table] = readFileSync(
      join(__dirname, '..', 'fixtures', 'conntrack-listing-and-kernel-table.txt'),
      'utf8',
    )
      .split(/^# .*\n/m)
      .slice(2);
    const ours = ['198.51.100.20', 'fd00::65', 'fd00::1'];
    expect(table).toContain('src=fd00:0000:0000:0000:0000:0000:0000:0001');
    const sent = sourceDigest(listing.trim(), ours);
    expect(targetDigest('', table.trim(), ours)).toBe(sent);
    expect(targetDigest(listing.trim(), undefined, ours)).toBe(sent);
    expect(targetDigest('', table.replace('mark=9 ', 'mark=8 ').trim(), ours)).not.toBe(sent);
    expect(targetDigest('', table.replace('zone=0 use=2\n', 'zone=4 use=2\n').trim(), ours)).not.toBe(sent);
    expect(targetDigest('', table.split('\n').slice(1).join('\n').trim(), ours)).not.toBe(sent);
  });

  // pairs written out by inet_pton and back by inet_ntop (Python's socket module, on glibc)
  it.each([
    ['fd00:0000:0000:0000:0000:0000:0000:0001', 'fd00::1'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['0000:0000:0000:0000:0000:0000:0000:0000', '::'],
    ['0001:0000:0000:0000:0000:0000:0000:0000', '1::'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0001:0001:0001:0001:0001', '2001:db8:0:1:1:1:1:1'],
    ['2001:0000:0000:0001:0000:0000:0000:0001', '2001:0:0:1::1'],
    ['0000:0000:0000:0000:0000:ffff:c633:6407', '::ffff:198.51.100.7'],
    ['0000:0000:0000:0000:0000:0000:c633:6407', '::198.51.100.7'],
    ['0000:0000:0000:0000:0000:ffff:0000:0001', '::ffff:0.0.0.1'],
    ['0001:0000:0000:0002:0000:0000:0000:0003', '1:0:0:2::3'],
    ['0000:0000:0001:0000:0000:0000:0000:0000', '0:0:1::'],
    ['fe80:0000:0000:0000:0000:0000:abcd:ef01', 'fe80::abcd:ef01'],
    ['0000:0002:0003:0004:0005:0006:0007:0008', '0:2:3:4:5:6:7:8'],
    ['0001:0002:0003:0004:0005:0006:0007:0000', '1:2:3:4:5:6:7:0'],
  ])("reads %s in the kernel's table as %s", (whole, short) => {
    const flow = (src: string, dst: string) =>
      `ipv6     10 udp      17 29 src=${src} dst=${dst} sport=5000 dport=53 src=${dst} dst=${src} sport=53 dport=5000 mark=0 use=1`;
    const vm = ['fd00::65'];
    const sent = sourceDigest(flow(short, 'fd00::65'), vm);
    expect(
      targetDigest(
        '',
        `${flow(whole, 'fd00:0000:0000:0000:0000:0000:0000:0065').replace('use=1', 'zone=0 use=2')}\n`,
        vm,
      ),
    ).toBe(sent);
  });
});
