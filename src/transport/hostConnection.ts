/**
 * The kept-alive connection to one host: connects on demand (ProxyJump hops included), asks about unknown host
 * keys through a callback, and reconnects with backoff after a drop. Failures that a person must fix (host key,
 * authentication) are not retried on their own.
 */
import type { Event } from '../core/emitter';
import { Emitter } from '../core/emitter';
import type { Argv } from '../core/virsh';
import type { ConnectionState, RemoteHost } from '../remote/remoteHost';
import { addKnownHost } from './knownHostsStore';
import type { Logger } from './logger';
import type { ExecOptions, ExecResult, RemoteSession, RemoteStream } from './sshConnection';
import { SshConnection } from './sshConnection';
import type { ResolvedHost } from './sshConfig';
import type { UnknownHostKey } from './sshError';
import { SshError, UnknownHostKeyError } from './sshError';

export type { ConnectionState };

export interface HostConnectionOptions {
  resolve(alias: string): Promise<ResolvedHost>;
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  askPassphrase?(keyFile: string, retry: boolean): Promise<string | undefined>;
  /** a passphrase remembered for a key file (SecretStorage), for reconnects where no one is asked */
  rememberedPassphrase?(keyFile: string): Promise<string | undefined>;
  /** asked once per unknown key; true = store it in known_hosts and connect */
  confirmHostKey?(key: UnknownHostKey): Promise<boolean>;
}

const BACKOFF_MS = [1000, 2000, 4000, 8000, 16000, 30000];
const RETRYABLE = new Set<SshError['kind']>(['timeout', 'refused', 'unreachable', 'closed', 'dns', 'other']);

export class HostConnection implements RemoteHost {
  private readonly stateEmitter = new Emitter<ConnectionState>();
  readonly onDidChangeState: Event<ConnectionState> = this.stateEmitter.event;
  private readonly connectedEmitter = new Emitter<void>();
  /** fires after every successful (re)connect: the moment to re-read state */
  readonly onDidConnect: Event<void> = this.connectedEmitter.event;
  private current: SshConnection | undefined;
  private jumps: SshConnection[] = [];
  private pending: Promise<SshConnection> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private disposed = false;
  state: ConnectionState = { kind: 'disconnected' };

  constructor(
    readonly alias: string,
    private readonly options: HostConnectionOptions,
    private readonly log: Logger,
  ) {}

  private setState(state: ConnectionState) {
    this.state = state;
    this.stateEmitter.fire(state);
  }

  /** Connect (or return the live connection). `interactive` allows asking the user about an unknown host key. */
  connect(interactive = true): Promise<SshConnection> {
    if (this.current && !this.current.isClosed) return Promise.resolve(this.current);
    if (this.pending) return this.pending;
    clearTimeout(this.retryTimer);
    this.setState({ kind: 'connecting' });
    this.pending = this.open(this.alias, interactive)
      .then((conn) => {
        this.current = conn;
        this.failures = 0;
        this.setState({ kind: 'connected' });
        void conn.closedPromise.then((e) => this.onClosed(conn, e));
        this.connectedEmitter.fire();
        return conn;
      })
      .catch((e: unknown) => {
        const error = e instanceof SshError ? e : new SshError('other', `${this.alias}: ${(e as Error).message}`);
        this.closeJumps();
        this.fail(error);
        throw error;
      })
      .finally(() => (this.pending = undefined));
    return this.pending;
  }

  /**
   * Connect to `alias`; `via` is the hop before it (ProxyJump). Every hop of `ProxyJump a,b` is used in order, as ssh
   * does: a directly (or through a's own ProxyJump), b through a, the host through b.
   */
  private async open(alias: string, interactive: boolean, depth = 0, via?: SshConnection): Promise<SshConnection> {
    if (depth > 8) throw new SshError('other', `${this.alias}: ProxyJump chain is longer than 8 hops (a loop?)`);
    const host = await this.options.resolve(alias);
    let previous = via;
    if (!previous && host.proxyJump) {
      for (const hop of host.proxyJump) {
        previous = await this.open(hop, interactive, depth + 1, previous);
        this.jumps.push(previous);
      }
    }
    const hop = previous;
    const remembered = this.options.rememberedPassphrase;
    const connectOptions = {
      connectTimeoutMs: this.options.connectTimeoutMs,
      keepaliveIntervalMs: this.options.keepaliveIntervalMs,
      // nobody to ask on an automatic reconnect: a remembered passphrase still unlocks its key
      askPassphrase: interactive
        ? this.options.askPassphrase
        : remembered && ((file: string, retry: boolean) => (retry ? Promise.resolve(undefined) : remembered(file))),
      openSock: hop && (() => hop.forwardTo(host.hostName, host.port)),
    };
    try {
      return await SshConnection.connect(host, connectOptions, this.log);
    } catch (e) {
      if (!(e instanceof UnknownHostKeyError)) throw e;
      const { unknownKey } = e;
      const where = `${alias}: unknown host key ${unknownKey.keyType} ${unknownKey.fingerprint}`;
      // StrictHostKeyChecking as OpenSSH: yes refuses, accept-new and no store it unasked, ask (the default) asks
      if (host.strictHostKeyChecking === 'yes') {
        throw new SshError(
          'hostKeyUnknown',
          `${where}, and StrictHostKeyChecking is yes`,
          `Add the host's key to ${unknownKey.knownHostsFile} (after checking its fingerprint), or set StrictHostKeyChecking ask for it.`,
        );
      }
      if (host.strictHostKeyChecking === 'ask') {
        if (!interactive || !this.options.confirmHostKey) throw e;
        if (!(await this.options.confirmHostKey(unknownKey))) {
          throw new SshError(
            'hostKeyUnknown',
            `${alias}: host key ${unknownKey.fingerprint} not trusted`,
            'Connect again and accept the key if the fingerprint is right.',
          );
        }
      }
      await addKnownHost(unknownKey.knownHostsFile, unknownKey.knownHostsName, unknownKey.key);
      this.log.info(
        `ssh: added ${unknownKey.knownHostsName} ${unknownKey.keyType} ${unknownKey.fingerprint} to ${unknownKey.knownHostsFile}${host.strictHostKeyChecking === 'ask' ? '' : ` (StrictHostKeyChecking ${host.strictHostKeyChecking})`}`,
      );
      return SshConnection.connect(host, connectOptions, this.log);
    }
  }

  private fail(error: SshError) {
    if (this.disposed) return;
    let retryAt: number | undefined;
    if (RETRYABLE.has(error.kind)) {
      const delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
      this.failures++;
      retryAt = Date.now() + delay;
      this.retryTimer = setTimeout(() => this.connect(false).catch(() => undefined), delay);
    }
    this.log.warn(`${error.message}${retryAt ? ` (retrying in ${retryAt - Date.now()} ms)` : ''}`);
    this.setState({ kind: 'failed', error, retryAt });
  }

  private onClosed(conn: SshConnection, error: Error | undefined) {
    if (this.current !== conn || this.disposed) return;
    this.current = undefined;
    this.closeJumps();
    this.fail(new SshError('closed', `${this.alias}: connection lost${error ? `: ${error.message}` : ''}`));
  }

  private closeJumps() {
    for (const j of this.jumps) j.close();
    this.jumps = [];
  }

  private live(): SshConnection {
    if (!this.current || this.current.isClosed) throw new SshError('closed', `${this.alias}: not connected`);
    return this.current;
  }

  exec(argv: Argv, options?: ExecOptions): Promise<ExecResult> {
    return this.live().exec(argv, options);
  }

  session(argv: Argv, onData: (text: string) => void, onStderr?: (text: string) => void): Promise<RemoteSession> {
    return this.live().session(argv, onData, onStderr);
  }

  stream(argv: Argv, onLine: (line: string) => void, onStderr?: (text: string) => void): Promise<RemoteStream> {
    return this.live().stream(argv, onLine, onStderr);
  }

  /** Close on purpose (no reconnect). */
  disconnect(): void {
    clearTimeout(this.retryTimer);
    const conn = this.current;
    this.current = undefined;
    conn?.close();
    this.closeJumps();
    if (!this.disposed) this.setState({ kind: 'disconnected' });
  }

  dispose(): void {
    this.disconnect();
    this.disposed = true;
    this.stateEmitter.dispose();
    this.connectedEmitter.dispose();
  }
}
