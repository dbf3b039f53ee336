import { createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  fingerprintSha256,
  hostPatternsMatch,
  keyTypeOf,
  knownHostsEntry,
  knownHostsName,
  parseKnownHosts,
  verifyHostKey,
} from '../../src/core/knownHosts';

/** An ssh-ed25519 wire-format public key blob, as a server presents it. */
function ed25519Blob(): Buffer {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
}
const hashed = (name: string) => {
  const salt = Buffer.from('0123456789abcdef0123');
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
};

describe('known_hosts', () => {
  const key = ed25519Blob();
  const other = ed25519Blob();
  const b64 = (b: Buffer) => b.toString('base64');

  it('matches plain, listed, wildcard, negated, bracketed-port and hashed names', () => {
    expect(hostPatternsMatch('hostA,10.0.0.11', '10.0.0.11')).toBe(true);
    expect(hostPatternsMatch('*.example.org', 'kvm1.example.org')).toBe(true);
    expect(hostPatternsMatch('*.example.org,!bad.example.org', 'bad.example.org')).toBe(false);
    expect(hostPatternsMatch('[kvm1]:2222', knownHostsName('kvm1', 2222))).toBe(true);
    expect(hostPatternsMatch('kvm1', knownHostsName('kvm1', 2222))).toBe(false);
    expect(hostPatternsMatch(hashed('kvm1'), 'kvm1')).toBe(true);
    expect(hostPatternsMatch(hashed('kvm1'), 'kvm2')).toBe(false);
  });

  it('knows a stored key, refuses a changed one with its line, reports unknown ones', () => {
    const lines = parseKnownHosts(
      `# hosts\n\nhostA,10.0.0.11 ssh-ed25519 ${b64(key)}\n10.0.0.12 ssh-ed25519 ${b64(other)} comment\n`,
      '/k',
    );
    expect(verifyHostKey(lines, '10.0.0.11', key)).toMatchObject({ kind: 'known', entry: { line: 3 } });
    expect(verifyHostKey(lines, '10.0.0.12', key)).toMatchObject({ kind: 'changed', entry: { file: '/k', line: 4 } });
    expect(verifyHostKey(lines, '10.0.0.13', key)).toEqual({ kind: 'unknown', otherKeyTypes: [] });
  });

  it('treats a host known only by another key type as unknown, saying which types it has', () => {
    const lines = parseKnownHosts(`kvm1 ssh-rsa AAAAB3NzaC1yc2E=\n`, '/k');
    expect(verifyHostKey(lines, 'kvm1', key)).toEqual({ kind: 'unknown', otherKeyTypes: ['ssh-rsa'] });
  });

  it('refuses @revoked keys and ignores @cert-authority lines', () => {
    const lines = parseKnownHosts(
      `@revoked * ssh-ed25519 ${b64(key)}\n@cert-authority * ssh-ed25519 ${b64(other)}\n`,
      '/k',
    );
    expect(verifyHostKey(lines, 'any', key).kind).toBe('revoked');
    expect(verifyHostKey(lines, 'any', other).kind).toBe('unknown');
  });

  it('prints fingerprints and entries as OpenSSH does', () => {
    expect(keyTypeOf(key)).toBe('ssh-ed25519');
    expect(fingerprintSha256(key)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(knownHostsEntry('[kvm1]:2222', key)).toBe(`[kvm1]:2222 ssh-ed25519 ${b64(key)}`);
  });
});
