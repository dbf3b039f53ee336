/**
 * What services need of a host, and no more: its alias, whether it is reachable (and when it came back), and the three
 * ways to run something on it. HostConnection (transport) is the real one; test/support/fakeHost.ts answers from
 * transcripts captured on the lab. Connecting, disconnecting and disposing stay with whoever owns the connection.
 */
import type { Event } from '../core/emitter';
import type { Argv } from '../core/virsh';
import type { ExecOptions, ExecResult, RemoteSession, RemoteStream } from '../transport/sshConnection';
import type { SshError } from '../transport/sshError';

export type { ExecOptions, ExecResult, RemoteSession, RemoteStream };

export type ConnectionState =
  | { kind: 'disconnected' }
  | { kind: 'connecting' }
  | { kind: 'connected' }
  | { kind: 'failed'; error: SshError; retryAt?: number };

export interface RemoteHost {
  readonly alias: string;
  readonly state: ConnectionState;
  readonly onDidChangeState: Event<ConnectionState>;
  /** fires after every successful (re)connect: the moment to re-read state */
  readonly onDidConnect: Event<void>;
  /** Run argv; resolves with exit code and output (a non-zero exit is not an exception), rejects with an SshError. */
  exec(argv: Argv, options?: ExecOptions): Promise<ExecResult>;
  /** A long-lived command Ferry talks to on stdin (e.g. one interactive virsh). */
  session(argv: Argv, onData: (text: string) => void, onStderr?: (text: string) => void): Promise<RemoteSession>;
  /** A long-lived command whose stdout is delivered line by line (e.g. `virsh event --loop`). */
  stream(argv: Argv, onLine: (line: string) => void, onStderr?: (text: string) => void): Promise<RemoteStream>;
}
