import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { knownHostsName, preferredHostKeyAlgorithms } from '../../src/core/knownHosts';
import type { KnownHostLine } from '../../src/core/knownHosts';
import { resolveHost } from '../../src/transport/sshConfig';

/** What OpenSSH itself makes of a host in a config: `ssh -G`, the fields Ferry resolves. */
function sshG(config: string, alias: string): Record<string, string> {
  const out = execFileSync('ssh', ['-G', '-F', config, alias], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return Object.fromEntries(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
  );
}
const STRICT: Record<string, string> = { true: 'yes', false: 'no', ask: 'ask', 'accept-new': 'accept-new' };

describe('ssh config resolved as OpenSSH resolves it (ssh -G)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sshcfg-'));
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(
    join(dir, 'conf.d', '10-jump.conf'),
    'Host Behind\n  HostName 10.9.8.7\n  ProxyJump jumpA,jumpB\n  User ops\n',
  );
  writeFileSync(
    join(dir, 'conf.d', '20-alias.conf'),
    'Host aliased\n  HostName Aliased.Example.COM\n  Port 2222\n  HostKeyAlias Hyper-1\n  StrictHostKeyChecking yes\n',
  );
  writeFileSync(join(dir, 'conf.d', 'ignored.txt'), 'Host behind\n  User nobody\n');
  const config = join(dir, 'config');
  writeFileSync(
    config,
    `Include ${join(dir, 'conf.d', '*.conf')}\nHost newhost\n  StrictHostKeyChecking accept-new\nHost *\n  StrictHostKeyChecking ask\n`,
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['Behind', 'aliased', 'newhost', 'Plain.Example.ORG'])(
    '%s: host name, port, user, every ProxyJump hop, HostKeyAlias, StrictHostKeyChecking',
    async (alias) => {
      const ours = await resolveHost(alias, config);
      const theirs = sshG(config, alias);
      expect({
        hostName: ours.hostName.toLowerCase(),
        port: String(ours.port),
        user: ours.user,
        proxyJump: ours.proxyJump?.join(',') ?? 'none',
        hostKeyAlias: ours.hostKeyAlias,
        strict: ours.strictHostKeyChecking,
      }).toEqual({
        hostName: theirs.hostname,
        port: theirs.port,
        user: theirs.user,
        proxyJump: theirs.proxyjump ?? 'none',
        hostKeyAlias: theirs.hostkeyalias,
        strict: STRICT[theirs.stricthostkeychecking],
      });
    },
  );
});

describe('known_hosts lookups as OpenSSH makes them', () => {
  it('lowercases host names; a HostKeyAlias is looked up as written, whatever the port', () => {
    expect(knownHostsName('Hyper-1.Example.COM', 22)).toBe('hyper-1.example.com');
    expect(knownHostsName('Hyper-1', 2222)).toBe('[hyper-1]:2222');
  });
  it('asks first for the key types known_hosts holds for the host', () => {
    const line = (patterns: string, keyType: string): KnownHostLine => ({
      file: 'kh',
      line: 1,
      patterns,
      keyType,
      keyBase64: 'AAAA',
    });
    const lines = [line('hosta,10.0.0.11', 'ecdsa-sha2-nistp256'), line('hostb', 'ssh-rsa')];
    expect(preferredHostKeyAlgorithms(lines, 'hosta')?.slice(0, 2)).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    expect(preferredHostKeyAlgorithms(lines, 'hostb')?.slice(0, 3)).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
    ]);
    expect(preferredHostKeyAlgorithms(lines, 'unknown')).toBeUndefined();
  });
});
