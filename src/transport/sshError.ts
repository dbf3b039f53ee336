/** An unknown host key, with what a person needs to decide (the fingerprint) and what to store if they trust it. */
export interface UnknownHostKey {
  alias: string;
  /** the name checked and stored in known_hosts, e.g. "10.0.0.11" or "[host]:2222" */
  knownHostsName: string;
  keyType: string;
  fingerprint: string;
  /** raw SSH wire-format public key, to store once accepted */
  key: Buffer;
  /** where an accepted key will be written */
  knownHostsFile: string;
  otherKeyTypes: string[];
}

/** Why a connection or a remote command failed, in words a user can act on. */
export type SshErrorKind =
  | 'hostKeyUnknown'
  | 'hostKeyChanged'
  | 'hostKeyRevoked'
  | 'auth'
  | 'passphrase'
  | 'timeout'
  | 'unreachable'
  | 'refused'
  | 'dns'
  | 'closed'
  | 'cancelled'
  | 'other';

export class SshError extends Error {
  constructor(
    readonly kind: SshErrorKind,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'SshError';
  }
}

/** An unknown host key: carries what the user needs to decide (fingerprint) and what to store if they trust it. */
export class UnknownHostKeyError extends SshError {
  constructor(
    message: string,
    readonly unknownKey: UnknownHostKey,
  ) {
    super('hostKeyUnknown', message);
  }
}

/** Map what ssh2 / the socket layer throws to a kind and a message that names the host. */
export function classifyConnectError(e: unknown, where: string): SshError {
  if (e instanceof SshError) return e;
  const err = e as NodeJS.ErrnoException & { level?: string };
  const msg = String(err?.message ?? e);
  if (err?.level === 'client-authentication' || /authentication methods failed/i.test(msg)) {
    return new SshError(
      'auth',
      `${where}: authentication failed`,
      'Check User and IdentityFile in your ssh config, or load the key into ssh-agent.',
    );
  }
  if (/Timed out while waiting for handshake/i.test(msg) || err?.code === 'ETIMEDOUT') {
    return new SshError(
      'timeout',
      `${where}: no answer (timed out)`,
      'Is the host up and reachable from this machine?',
    );
  }
  if (err?.code === 'ECONNREFUSED')
    return new SshError('refused', `${where}: connection refused`, 'Is sshd running on that port?');
  if (err?.code === 'EHOSTUNREACH' || err?.code === 'ENETUNREACH')
    return new SshError('unreachable', `${where}: host unreachable`);
  if (err?.code === 'ENOTFOUND' || err?.code === 'EAI_AGAIN')
    return new SshError('dns', `${where}: unknown host name`, 'Check HostName in your ssh config.');
  return new SshError('other', `${where}: ${msg}`);
}
