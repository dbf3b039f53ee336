import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addressListProblem, conntrackVersionProblem, exportArgv, parseExport, parseExtendedFlow } from '../../src/core/conntrack';

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

  it('skips what is not a tcp/udp/icmp flow', () => {
    expect(parseExtendedFlow('conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.')).toBeUndefined();
    expect(parseExtendedFlow('ipv4     2 gre      47 29 src=1.1.1.1 dst=2.2.2.2 srckey=0x0 dstkey=0x0 src=2.2.2.2 dst=1.1.1.1 srckey=0x0 dstkey=0x0 mark=0 use=1')).toBeUndefined();
  });

  it('refuses anything but IP addresses', () => {
    expect(() => exportArgv(['10.0.1.100; reboot'])).toThrow(/not an IP address/);
    expect(() => exportArgv(['300.1.1.1'])).toThrow(/not an IP address/);
    expect(exportArgv(['10.0.1.100', 'FD00:0:0::64']).slice(-2)).toEqual(['10.0.1.100', 'fd00::64']);
  });
});

describe('what stops a sync before it starts', () => {
  it('names conntrack-tools missing or older than 1.4.7', () => {
    expect(conntrackVersionProblem(0, 'conntrack v1.4.7 (conntrack-tools)\n')).toBeUndefined(); // Debian 12
    expect(conntrackVersionProblem(0, 'conntrack v1.4.8 (conntrack-tools)\n')).toBeUndefined();
    expect(conntrackVersionProblem(0, 'conntrack v1.5.0 (conntrack-tools)\n')).toBeUndefined();
    expect(conntrackVersionProblem(0, 'conntrack v1.4.6 (conntrack-tools)\n')).toMatch(/1\.4\.6 is too old: Ferry needs 1\.4\.7/);
    expect(conntrackVersionProblem(0, 'conntrack v1.3.9 (conntrack-tools)\n')).toMatch(/too old/);
    expect(conntrackVersionProblem(127, 'bash: line 1: conntrack: command not found\n')).toMatch(/not installed \(Debian\/Ubuntu: apt install conntrack\)/);
    expect(conntrackVersionProblem(1, 'something else')).toMatch(/cannot read the conntrack version/);
  });

  it('refuses addresses the host knows as another domain\'s, and takes the user\'s word for unknown ones', () => {
    const others = [{ name: 'tiny2', ips: ['10.0.1.101', 'fd00::65'] }];
    expect(addressListProblem('10.0.1.100', others)).toBeUndefined();
    expect(addressListProblem('10.0.1.100, 10.0.1.7', others)).toBeUndefined(); // nobody is known to hold .7
    expect(addressListProblem('10.0.1.100 FD00::65', others)).toBe('FD00::65 is an address of tiny2, not of this domain: its flows belong to another machine');
    expect(addressListProblem('', others)).toBe('at least one address');
    expect(addressListProblem('10.0.1.100; reboot', others)).toMatch(/not an IP address/);
  });
});
