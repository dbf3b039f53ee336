/**
 * OpenSSH known_hosts, parsed and matched without I/O: plain, wildcard, negated, `[host]:port` and hashed
 * (`|1|salt|hmac`) host patterns; `@revoked` lines; `@cert-authority` lines are ignored (no CA support).
 */
import { createHash, createHmac } from 'node:crypto';

export interface KnownHostLine {
  file: string;
  /** 1-based line number, for error messages that send the user to the right line */
  line: number;
  marker?: '@revoked' | '@cert-authority';
  patterns: string;
  keyType: string;
  keyBase64: string;
}

export function parseKnownHosts(text: string, file: string): KnownHostLine[] {
  const out: KnownHostLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const fields = trimmed.split(/\s+/);
    let marker: KnownHostLine['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostLine['marker'];
    if (fields.length < 3) return;
    out.push({ file, line: i + 1, marker, patterns: fields[0], keyType: fields[1], keyBase64: fields[2] });
  });
  return out;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise; host names lowercased, as ssh does. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** host key algorithms ssh2 offers, most preferred first */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];
/** an RSA key (type ssh-rsa in known_hosts) is signed with any of these */
const ALGORITHMS_OF_TYPE: Record<string, string[]> = { 'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] };

/**
 * The host key algorithms to offer, those of key types known_hosts holds for `name` first (as OpenSSH orders them),
 * so a host with several keys shows the one already trusted instead of being prompted about another; undefined when
 * none is known (ssh2's own order).
 */
export function preferredHostKeyAlgorithms(lines: KnownHostLine[], name: string): string[] | undefined {
  const types = lines.filter((l) => !l.marker && hostPatternsMatch(l.patterns, name)).map((l) => l.keyType);
  const first = [...new Set(types.flatMap((t) => ALGORITHMS_OF_TYPE[t] ?? [t]))].filter((a) =>
    HOST_KEY_ALGORITHMS.includes(a),
  );
  return first.length ? [...first, ...HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))] : undefined;
}

function wildcardToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return wildcardToRegExp(pattern).test(name);
}

/** A comma-separated pattern list matches when some positive pattern matches and no negated one does. */
export function hostPatternsMatch(patterns: string, name: string): boolean {
  let matched = false;
  for (const p of patterns.split(',')) {
    if (p.startsWith('!')) {
      if (patternMatches(p.slice(1), name)) return false;
    } else if (patternMatches(p, name)) matched = true;
  }
  return matched;
}

/** The key type named inside an SSH wire-format public key blob (its first length-prefixed string). */
export function keyTypeOf(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** `SHA256:…` as `ssh-keygen -lf` and OpenSSH's prompts print it. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export type HostKeyVerdict =
  | { kind: 'known'; entry: KnownHostLine }
  | { kind: 'changed'; entry: KnownHostLine }
  | { kind: 'revoked'; entry: KnownHostLine }
  | { kind: 'unknown'; otherKeyTypes: string[] };

/**
 * What OpenSSH would conclude about `blob` presented by `name`: known, changed (a line for this host and key type
 * holds another key; refuse), revoked, or unknown (ask the user).
 */
export function verifyHostKey(lines: KnownHostLine[], name: string, blob: Buffer): HostKeyVerdict {
  const keyType = keyTypeOf(blob);
  const keyBase64 = blob.toString('base64');
  const forHost = lines.filter((l) => l.marker !== '@cert-authority' && hostPatternsMatch(l.patterns, name));
  const revoked = lines.find((l) => l.marker === '@revoked' && l.keyBase64 === keyBase64);
  if (revoked) return { kind: 'revoked', entry: revoked };
  const plain = forHost.filter((l) => !l.marker);
  const same = plain.find((l) => l.keyType === keyType && l.keyBase64 === keyBase64);
  if (same) return { kind: 'known', entry: same };
  const changed = plain.find((l) => l.keyType === keyType);
  if (changed) return { kind: 'changed', entry: changed };
  return { kind: 'unknown', otherKeyTypes: [...new Set(plain.map((l) => l.keyType))] };
}

/** The line to append when the user accepts an unknown key. */
export function knownHostsEntry(name: string, blob: Buffer): string {
  return `${name} ${keyTypeOf(blob)} ${blob.toString('base64')}`;
}
