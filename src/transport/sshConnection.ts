/**
 * One ssh2 connection to one host: strict known_hosts, keys and ssh-agent, optional ProxyJump socket, many
 * channels. Remote commands are argv arrays quoted by shellCommand(); every command is logged with host, argv,
 * exit code and duration. Prompts for people come in as callbacks: the transport never shows UI.
 */
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import type { AnyAuthMethod, ClientChannel, ConnectConfig } from 'ssh2';
import { Client, utils } from 'ssh2';
import {
  fingerprintSha256,
  keyTypeOf,
  knownHostsName,
  preferredHostKeyAlgorithms,
  verifyHostKey,
} from '../core/knownHosts';
import type { Argv } from '../core/virsh';
import { readKnownHosts } from './knownHostsStore';
import type { Logger } from './logger';
import { killOnHangupArgv, remoteCommand, shellCommand } from './quote';
import type { ResolvedHost } from './sshConfig';
import { classifyConnectError, SshError, UnknownHostKeyError } from './sshError';

export interface ConnectOptions {
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  /** asked for an encrypted identity file; undefined = skip that key */
  askPassphrase?: (keyFile: string, retry: boolean) => Promise<string | undefined>;
  /** a socket to run SSH over (ProxyJump), instead of TCP to hostName:port; each attempt opens a new one */
  openSock?: () => Promise<Duplex>;
}

export interface ExecOptions {
  /** given as a promise, the channel opens at once and stdin follows when it resolves (pre-opened pipelines) */
  stdin?: string | Buffer | Promise<string | Buffer>;
  /** commands that change something are logged at info, reads at debug */
  logLevel?: 'info' | 'debug';
  /** DEFAULT_EXEC_TIMEOUT_MS for a command without stdin; 0: none (it ends when its stdin does) */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** stdout + stderr beyond this end the command with an error (MAX_OUTPUT_BYTES) */
  maxOutputBytes?: number;
}

/** a host that stops answering is an error the user sees after this, never a hang */
export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
/** what one command may print: far above any real listing (100,000 conntrack flows are ~18 MiB) */
export const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** a streamed line longer than this is dropped (virsh events are a few hundred bytes) */
export const MAX_LINE_BYTES = 1024 * 1024;

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

type KeyFile = { file: string; data: Buffer };

/** The identity files that exist and parse, split into those usable at once and those that need a passphrase. */
async function readIdentities(files: readonly string[], log: Logger): Promise<{ plain: KeyFile[]; locked: KeyFile[] }> {
  const plain: KeyFile[] = [];
  const locked: KeyFile[] = [];
  for (const file of files) {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch {
      continue; // an IdentityFile that does not exist is skipped, as ssh does
    }
    const parsed = utils.parseKey(data);
    if (!(parsed instanceof Error)) plain.push({ file, data });
    else if (/encrypted|passphrase/i.test(parsed.message)) locked.push({ file, data });
    else log.warn(`ssh: cannot use ${file}: ${parsed.message}`);
  }
  return { plain, locked };
}

/** The passphrase of an encrypted key, asked (up to three tries) or remembered; undefined when there is none. */
async function unlock(key: KeyFile, ask: ConnectOptions['askPassphrase']): Promise<string | undefined> {
  for (let attempt = 0; ask && attempt < 3; attempt++) {
    const passphrase = await ask(key.file, attempt > 0);
    if (passphrase === undefined) return undefined;
    if (!(utils.parseKey(key.data, passphrase) instanceof Error)) return passphrase;
  }
  return undefined;
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
    const where = `${host.alias} (${host.user}@${host.hostName}:${host.port})`;
    // as OpenSSH: the agent's keys, then identity files; an encrypted file's passphrase only if those did not do
    const first: AnyAuthMethod[] = [];
    if (!host.identitiesOnly && process.env.SSH_AUTH_SOCK)
      first.push({ type: 'agent', username: host.user, agent: process.env.SSH_AUTH_SOCK });
    const { plain, locked } = await readIdentities(host.identityFiles, log);
    first.push(...plain.map((k): AnyAuthMethod => ({ type: 'publickey', username: host.user, key: k.data })));
    if (!first.length && !locked.length) {
      throw new SshError(
        'auth',
        `${where}: no identity file and no ssh-agent`,
        'Set IdentityFile in your ssh config or start ssh-agent.',
      );
    }
    if (first.length) {
      try {
        return await SshConnection.attempt(host, options, first, log);
      } catch (e) {
        if (!(e instanceof SshError && e.kind === 'auth') || !locked.length) throw e;
      }
    }
    const unlocked: AnyAuthMethod[] = [];
    for (const key of locked) {
      const passphrase = await unlock(key, options.askPassphrase);
      if (passphrase !== undefined)
        unlocked.push({ type: 'publickey', username: host.user, key: key.data, passphrase });
    }
    if (!unlocked.length) {
      const files = locked.map((k) => k.file).join(', ');
      throw new SshError(
        'passphrase',
        `${where}: ${first.length ? 'the agent and the plain keys were refused, and ' : ''}${files} needs a passphrase`,
        options.askPassphrase
          ? 'Enter the passphrase, or add the key to ssh-agent.'
          : 'Connect from the tree to enter it, or add the key to ssh-agent.',
      );
    }
    return SshConnection.attempt(host, options, [...first, ...unlocked], log);
  }

  private static async attempt(
    host: ResolvedHost,
    options: ConnectOptions,
    methods: AnyAuthMethod[],
    log: Logger,
  ): Promise<SshConnection> {
    const conn = new SshConnection(host, log);
    const where = `${host.alias} (${host.user}@${host.hostName}:${host.port})`;
    const sock = await options.openSock?.();
    // HostKeyAlias is looked up as written, whatever the port (ssh -o HostKeyAlias=x -p 2222 looks up "x")
    const name = host.hostKeyAlias ?? knownHostsName(host.hostName, host.port);
    // a host offering several key types is asked for one known_hosts already holds, as ssh does, not prompted about
    // read once: for the algorithms to offer, and for the key the host then shows (an unreadable file is said there)
    const known = readKnownHosts(host.knownHostsFiles);
    const preferred = preferredHostKeyAlgorithms(await known.catch(() => []), name);
    let hostKeyProblem: SshError | undefined;
    const config: ConnectConfig = {
      host: host.hostName,
      port: host.port,
      username: host.user,
      sock: sock as ConnectConfig['sock'],
      readyTimeout: options.connectTimeoutMs,
      keepaliveInterval: options.keepaliveIntervalMs,
      keepaliveCountMax: 3,
      authHandler: methods,
      ...(preferred && {
        algorithms: { serverHostKey: preferred as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
      }),
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        known
          .then((lines) => verifyHostKey(lines, name, key))
          .then(
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
                hostKeyProblem = new SshError(
                  'hostKeyRevoked',
                  `${where}: the host key ${fingerprint} is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}`,
                );
              } else {
                hostKeyProblem = new UnknownHostKeyError(
                  `${where}: unknown host key ${keyTypeOf(key)} ${fingerprint}`,
                  {
                    alias: host.alias,
                    knownHostsName: name,
                    keyType: keyTypeOf(key),
                    fingerprint,
                    key,
                    knownHostsFile: host.knownHostsFiles[0],
                    otherKeyTypes: verdict.otherKeyTypes,
                  },
                );
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
      // as OpenSSH does: without TCP_NODELAY each request waits out Nagle against the peer's delayed ACK (~40 ms
      // each way), and every exec channel took ~88 ms to open on a host 0.1 ms away
      conn.client.setNoDelay(true);
    });
    log.info(`ssh: connected to ${where} in ${Date.now() - started} ms`);
    return conn;
  }

  /** Open an exec channel for argv (optionally run inside a wrapper); `command` is argv's own line, for logs. */
  private openChannel(argv: Argv, wrap?: (argv: Argv) => Argv): Promise<{ channel: ClientChannel; command: string }> {
    const command = shellCommand(argv);
    if (this.closed) return Promise.reject(new SshError('closed', `${this.host.alias}: not connected`));
    return new Promise((resolve, reject) => {
      this.client.exec(remoteCommand(wrap ? shellCommand(wrap(argv)) : command), (err, channel) =>
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
    const timeoutMs = options.timeoutMs ?? (options.stdin === undefined ? DEFAULT_EXEC_TIMEOUT_MS : 0);
    const maxOutput = options.maxOutputBytes ?? MAX_OUTPUT_BYTES;
    const cancellable = (options.signal || timeoutMs) && options.stdin === undefined;
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
      if (timeoutMs) {
        timer = setTimeout(
          () =>
            stop(
              new SshError(
                'timeout',
                `${this.host.alias}: no answer within ${timeoutMs / 1000} s: ${command}`,
                'The host, or libvirtd on it, may be hung; Ferry goes on with the other hosts.',
              ),
            ),
          timeoutMs,
        );
      }
      let size = 0;
      const collect = (into: Buffer[]) => (d: Buffer) => {
        if (failure) return;
        size += d.length;
        if (size > maxOutput)
          return stop(
            new SshError(
              'other',
              `${this.host.alias}: ${command} printed more than ${Math.round(maxOutput / 1048576)} MiB; stopped`,
            ),
          );
        into.push(d);
      };
      channel.on('data', collect(out));
      channel.stderr.on('data', collect(err));
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
        this.log[options.logLevel ?? 'debug'](
          `${this.host.alias}: ${command} -> exit ${why ? why.kind : code} in ${ms} ms`,
        );
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
          setTimeout(
            () =>
              finish(
                this.closed
                  ? new SshError('closed', `${this.host.alias}: the connection dropped while running: ${command}`)
                  : undefined,
              ),
            500,
          );
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
      if (cancellable)
        channel.write(''); // keep stdin open: its end is the cancel signal
      else if (options.stdin instanceof Promise)
        options.stdin.then(
          (data) => channel.end(data),
          () => channel.close(),
        );
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
    // a write racing the link's end fails here; the caller learns it from `done` and the connection's state
    channel.on('error', (e: Error) => this.log.debug(`${this.host.alias}: ${command}: ${e.message}`));
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
    // lines are cut once per chunk (not re-sliced per line); a line past MAX_LINE_BYTES is dropped, not buffered
    let buffered = '';
    let dropping = false;
    channel.setEncoding('utf8');
    channel.on('data', (chunk: string) => {
      let text = buffered + chunk;
      let from = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
        if (!dropping) onLine(text.slice(from, nl));
        dropping = false;
        from = nl + 1;
      }
      text = text.slice(from);
      if (text.length > MAX_LINE_BYTES) {
        if (!dropping)
          this.log.warn(
            `${this.host.alias}: ${command} printed a line longer than ${MAX_LINE_BYTES / 1048576} MiB; dropped`,
          );
        dropping = true;
        text = '';
      }
      buffered = text;
    });
    channel.stderr.on('data', (d: Buffer) => onStderr?.(d.toString('utf8')));
    channel.write(''); // stdin stays open for the life of the stream; closing it ends the remote command
    let code: number | null = null;
    channel.on('exit', (c: number | null) => (code = c));
    const done = new Promise<number | null>((resolve) =>
      channel.on('close', (c?: number | null) => {
        if (code === null && c !== undefined) code = c;
        this.log.debug(
          `${this.host.alias}: ${command} -> stream closed, exit ${code} after ${Date.now() - started} ms`,
        );
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
      this.client.forwardOut('127.0.0.1', 0, host, port, (err, ch) =>
        err ? reject(classifyConnectError(err, this.host.alias)) : resolve(ch),
      ),
    );
  }

  close(): void {
    this.client.end();
  }
}
