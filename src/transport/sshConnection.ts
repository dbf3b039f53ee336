/**
 * One ssh2 connection to one host: strict known_hosts, keys and ssh-agent, optional ProxyJump socket, many
 * channels. Remote commands are argv arrays quoted by shellCommand(); every command is logged with host, argv,
 * exit code and duration. Prompts for people come in as callbacks: the transport never shows UI.
 */
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import type { AnyAuthMethod, ClientChannel, ConnectConfig } from 'ssh2';
import { Client, utils } from 'ssh2';
import { fingerprintSha256, keyTypeOf, knownHostsName } from '../core/knownHosts';
import type { Argv } from '../core/virsh';
import { checkHostKey } from './knownHostsStore';
import type { Logger } from './logger';
import { killOnHangupArgv, shellCommand } from './quote';
import type { ResolvedHost } from './sshConfig';
import { classifyConnectError, SshError, UnknownHostKeyError } from './sshError';

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

export interface ConnectOptions {
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  /** asked for an encrypted identity file; undefined = skip that key */
  askPassphrase?: (keyFile: string, retry: boolean) => Promise<string | undefined>;
  /** a socket to run SSH over (ProxyJump), instead of TCP to hostName:port */
  sock?: Duplex;
}

export interface ExecOptions {
  /** given as a promise, the channel opens at once and stdin follows when it resolves (pre-opened pipelines) */
  stdin?: string | Buffer | Promise<string | Buffer>;
  /** commands that change something are logged at info, reads at debug */
  logLevel?: 'info' | 'debug';
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RemoteStream {
  close(): void;
  /** resolves with the exit code (null when closed by us or by a signal) */
  done: Promise<number | null>;
}

/** A long-lived remote command Ferry talks to on stdin (e.g. one `virsh` shell for many queries). */
export interface RemoteSession extends RemoteStream {
  write(text: string): void;
  /** end of input: the command finishes what it is doing and its output still arrives */
  end(): void;
}

async function loadIdentity(file: string, ask: ConnectOptions['askPassphrase'], log: Logger) {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch {
    return undefined; // an IdentityFile that does not exist is skipped, as ssh does
  }
  const parsed = utils.parseKey(data);
  if (!(parsed instanceof Error)) return { key: data, passphrase: undefined as string | undefined };
  if (!/encrypted|passphrase/i.test(parsed.message)) {
    log.warn(`ssh: cannot use ${file}: ${parsed.message}`);
    return undefined;
  }
  for (let attempt = 0; ask && attempt < 3; attempt++) {
    const passphrase = await ask(file, attempt > 0);
    if (passphrase === undefined) break;
    if (!(utils.parseKey(data, passphrase) instanceof Error)) return { key: data, passphrase };
  }
  throw new SshError('passphrase', `no usable passphrase for ${file}`, 'Enter the passphrase, or add the key to ssh-agent.');
}

export class SshConnection {
  private readonly client = new Client();
  private closed = false;
  readonly closedPromise: Promise<Error | undefined>;

  private constructor(
    readonly host: ResolvedHost,
    private readonly log: Logger,
  ) {
    this.closedPromise = new Promise((resolve) => {
      let lastError: Error | undefined;
      this.client.on('error', (e) => (lastError = e));
      this.client.on('close', () => {
        this.closed = true;
        resolve(lastError);
      });
    });
  }

  get isClosed() {
    return this.closed;
  }

  /**
   * Connect and authenticate. An unknown host key rejects with an UnknownHostKeyError: the caller asks the user (no handshake timer runs while a person reads),
   * stores the key with addKnownHost() and connects again. A changed or revoked key is refused.
   */
  static async connect(host: ResolvedHost, options: ConnectOptions, log: Logger): Promise<SshConnection> {
    const conn = new SshConnection(host, log);
    const where = `${host.alias} (${host.user}@${host.hostName}:${host.port})`;
    const methods: AnyAuthMethod[] = [];
    for (const file of host.identityFiles) {
      const id = await loadIdentity(file, options.askPassphrase, log);
      if (id) methods.push({ type: 'publickey', username: host.user, key: id.key, passphrase: id.passphrase });
    }
    if (!host.identitiesOnly && process.env.SSH_AUTH_SOCK) {
      methods.push({ type: 'agent', username: host.user, agent: process.env.SSH_AUTH_SOCK });
    }
    if (!methods.length) {
      throw new SshError('auth', `${where}: no identity file and no ssh-agent`, 'Set IdentityFile in your ssh config or start ssh-agent.');
    }
    const name = knownHostsName(host.hostKeyAlias ?? host.hostName, host.port);
    let hostKeyProblem: SshError | undefined;
    const config: ConnectConfig = {
      host: host.hostName,
      port: host.port,
      username: host.user,
      sock: options.sock as ConnectConfig['sock'],
      readyTimeout: options.connectTimeoutMs,
      keepaliveInterval: options.keepaliveIntervalMs,
      keepaliveCountMax: 3,
      authHandler: methods,
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        checkHostKey(host.knownHostsFiles, name, key).then(
          (verdict) => {
            if (verdict.kind === 'known') return verify(true);
            const fingerprint = fingerprintSha256(key);
            if (verdict.kind === 'changed') {
              hostKeyProblem = new SshError(
                'hostKeyChanged',
                `${where}: HOST KEY CHANGED. The ${keyTypeOf(key)} key offered (${fingerprint}) differs from the one in ` +
                  `${verdict.entry.file}:${verdict.entry.line}. Refusing to connect.`,
                `If the host was really reinstalled, remove line ${verdict.entry.line} of ${verdict.entry.file} (ssh-keygen -R ${name}) and connect again.`,
              );
            } else if (verdict.kind === 'revoked') {
              hostKeyProblem = new SshError('hostKeyRevoked', `${where}: the host key ${fingerprint} is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}`);
            } else {
              hostKeyProblem = new UnknownHostKeyError(`${where}: unknown host key ${keyTypeOf(key)} ${fingerprint}`, {
                alias: host.alias,
                knownHostsName: name,
                keyType: keyTypeOf(key),
                fingerprint,
                key,
                knownHostsFile: host.knownHostsFiles[0],
                otherKeyTypes: verdict.otherKeyTypes,
              });
            }
            verify(false);
          },
          (e) => {
            hostKeyProblem = new SshError('other', `${where}: cannot read known_hosts: ${(e as Error).message}`);
            verify(false);
          },
        );
      },
    };
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => {
        conn.client.removeListener('ready', onReady);
        reject(hostKeyProblem ?? classifyConnectError(e, where));
      };
      const onReady = () => {
        conn.client.removeListener('error', onError);
        resolve();
      };
      conn.client.once('ready', onReady);
      conn.client.once('error', onError);
      conn.client.connect(config);
    });
    log.info(`ssh: connected to ${where} in ${Date.now() - started} ms`);
    return conn;
  }

  /** Open an exec channel for argv (optionally run inside a wrapper); `command` is argv's own line, for logs. */
  private openChannel(argv: Argv, wrap?: (argv: Argv) => Argv): Promise<{ channel: ClientChannel; command: string }> {
    const command = shellCommand(argv);
    if (this.closed) return Promise.reject(new SshError('closed', `${this.host.alias}: not connected`));
    return new Promise((resolve, reject) => {
      this.client.exec(wrap ? shellCommand(wrap(argv)) : command, (err, channel) =>
        err ? reject(classifyConnectError(err, this.host.alias)) : resolve({ channel, command }),
      );
    });
  }

  /**
   * Run argv on the host; resolves with exit code and output (a non-zero exit is not an exception). With a signal
   * or a timeout (and no stdin) the remote command is ended when it is cancelled, not left running.
   */
  async exec(argv: Argv, options: ExecOptions = {}): Promise<ExecResult> {
    const started = Date.now();
    const cancellable = (options.signal || options.timeoutMs) && options.stdin === undefined;
    const { channel, command } = await this.openChannel(argv, cancellable ? killOnHangupArgv : undefined);
    return new Promise<ExecResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timer: NodeJS.Timeout | undefined;
      let failure: SshError | undefined;
      const stop = (why: SshError) => {
        failure = why;
        channel.end(); // EOF on the watcher's stdin (see killOnHangupArgv): the remote command is TERMed
        channel.close();
      };
      const onAbort = () => stop(new SshError('cancelled', `${this.host.alias}: cancelled: ${command}`));
      if (options.signal?.aborted) onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs) {
        timer = setTimeout(() => stop(new SshError('timeout', `${this.host.alias}: no result after ${options.timeoutMs} ms: ${command}`)), options.timeoutMs);
      }
      channel.on('data', (d: Buffer) => out.push(d));
      channel.stderr.on('data', (d: Buffer) => err.push(d));
      let code: number | null = null;
      let exited = false;
      channel.on('exit', (c: number | null) => {
        code = c;
        exited = true;
        if (cancellable) channel.end(); // releases the watcher
      });
      // settle when the channel is closed AND both output streams have ended: under load ssh2 can emit 'close'
      // before the last buffered stdout/stderr data is delivered. A channel that dies with its connection may
      // never end its streams, so 'close' waits for them at most briefly.
      let ended = 0;
      let closed = false;
      let settled = false;
      const finish = (why: SshError | undefined) => {
        options.signal?.removeEventListener('abort', onAbort);
        const ms = Date.now() - started;
        this.log[options.logLevel ?? 'debug'](`${this.host.alias}: ${command} -> exit ${why ? why.kind : code} in ${ms} ms`);
        if (why) return reject(why);
        resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms });
      };
      const settle = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // sshd always reports an exit status (or signal): a channel closed without one went down with its connection,
        // which ssh2 reports as closed a moment later
        if (!exited && !failure) {
          setTimeout(() => finish(this.closed ? new SshError('closed', `${this.host.alias}: the connection dropped while running: ${command}`) : undefined), 500);
          return;
        }
        finish(failure);
      };
      const onEnd = () => {
        if (++ended === 2 && closed) settle();
      };
      channel.once('end', onEnd);
      channel.stderr.once('end', onEnd);
      // ssh2 also passes the exit status with 'close': a command that ends at once can report its 'exit' before this
      // listener exists (all in one network read), and 'close' (undefined when the link died) still has it
      channel.once('close', (c?: number | null) => {
        closed = true;
        if (!exited && c !== undefined) {
          exited = true;
          code = c;
        }
        if (ended === 2 || failure) settle();
        else setTimeout(settle, 200);
      });
      if (cancellable) channel.write(''); // keep stdin open: its end is the cancel signal
      else if (options.stdin instanceof Promise) options.stdin.then((data) => channel.end(data), () => channel.close());
      else channel.end(options.stdin);
    });
  }

  /**
   * Run a command that reads its input from the channel for as long as it lives. No hang-up wrapper: the command
   * must end by itself at end of input, which close() sends.
   */
  async session(argv: Argv, onData: (text: string) => void, onStderr?: (text: string) => void): Promise<RemoteSession> {
    const { channel, command } = await this.openChannel(argv);
    this.log.debug(`${this.host.alias}: ${command} (session opened)`);
    channel.setEncoding('utf8');
    channel.on('data', onData);
    channel.stderr.on('data', (d: Buffer) => onStderr?.(d.toString('utf8')));
    let code: number | null = null;
    channel.on('exit', (c: number | null) => (code = c));
    // done once closed and all output delivered (ssh2 may report the close before the last data, as in exec)
    let ended = false;
    let closed = false;
    const done = new Promise<number | null>((resolve) => {
      channel.once('end', () => {
        ended = true;
        if (closed) resolve(code);
      });
      channel.on('close', (c?: number | null) => {
        closed = true;
        if (code === null && c !== undefined) code = c; // as in exec: an early 'exit' may have been missed
        if (ended) resolve(code);
        else setTimeout(() => resolve(code), 200);
      });
    });
    return {
      write: (text) => void channel.write(text),
      end: () => void channel.end(),
      close: () => {
        channel.end();
        channel.close();
      },
      done,
    };
  }

  /** A long-lived command whose stdout is delivered line by line (e.g. `virsh event --loop`). */
  async stream(argv: Argv, onLine: (line: string) => void, onStderr?: (text: string) => void): Promise<RemoteStream> {
    const started = Date.now();
    const { channel, command } = await this.openChannel(argv, killOnHangupArgv);
    this.log.debug(`${this.host.alias}: ${command} (stream opened)`);
    let buffered = '';
    channel.setEncoding('utf8');
    channel.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        onLine(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    channel.stderr.on('data', (d: Buffer) => onStderr?.(d.toString('utf8')));
    channel.write(''); // stdin stays open for the life of the stream; closing it ends the remote command
    let code: number | null = null;
    channel.on('exit', (c: number | null) => (code = c));
    const done = new Promise<number | null>((resolve) =>
      channel.on('close', (c?: number | null) => {
        if (code === null && c !== undefined) code = c;
        this.log.debug(`${this.host.alias}: ${command} -> stream closed, exit ${code} after ${Date.now() - started} ms`);
        resolve(code);
      }),
    );
    return {
      close: () => {
        channel.end();
        channel.close();
      },
      done,
    };
  }

  /** A TCP channel through this host (for ProxyJump). */
  forwardTo(host: string, port: number): Promise<ClientChannel> {
    return new Promise((resolve, reject) =>
      this.client.forwardOut('127.0.0.1', 0, host, port, (err, ch) => (err ? reject(classifyConnectError(err, this.host.alias)) : resolve(ch))),
    );
  }

  close(): void {
    this.client.end();
  }
}
