/**
 * The transport's settling over a fake ssh2 (vi.mock): an exec settles exactly once whatever the order of its channel's
 * exit, stdout end, stderr end and close; output that comes after the close is kept; a channel that dies with its
 * connection rejects; a timeout ends and closes the channel and rejects. HostConnection over it: reconnect with
 * backoff after a drop, onDidConnect after each connect, no retry for what a person must fix, none after disconnect.
 */
import type { EventEmitter } from 'node:events';
import type * as Ssh2 from 'ssh2';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConnectionState } from '../../src/remote/remoteHost';
import { HostConnection } from '../../src/transport/hostConnection';
import type { Logger } from '../../src/transport/logger';
import type { ResolvedHost } from '../../src/transport/sshConfig';
import { SshConnection } from '../../src/transport/sshConnection';
import type { SshError } from '../../src/transport/sshError';

interface FakeChannel extends EventEmitter {
  stderr: EventEmitter;
  command: string;
  written: string[];
  ended: boolean;
  closed: boolean;
}
interface FakeClient extends EventEmitter {
  channels: FakeChannel[];
  ended: boolean;
}

/** the clients made, and how each next connect goes (an Error: its 'error'; default: 'ready') */
const ssh = vi.hoisted(() => ({ clients: [] as FakeClient[], outcomes: [] as (Error | 'ready')[] }));
vi.mock('ssh2', async (importOriginal) => {
  const actual = await importOriginal<typeof Ssh2>();
  const { EventEmitter: Events } = await import('node:events');
  class Channel extends Events {
    stderr = new Events();
    written: string[] = [];
    ended = false;
    closed = false;
    constructor(readonly command: string) {
      super();
    }
    write(d: string) {
      this.written.push(String(d));
      return true;
    }
    end(d?: string) {
      if (d !== undefined) this.written.push(String(d));
      this.ended = true;
    }
    close() {
      this.closed = true;
    }
    setEncoding() {}
  }
  class Client extends Events {
    channels: Channel[] = [];
    ended = false;
    connect() {
      ssh.clients.push(this as unknown as FakeClient);
      const outcome = ssh.outcomes.shift() ?? 'ready';
      queueMicrotask(() =>
        outcome === 'ready' ? this.emit('ready') : (this.emit('error', outcome), this.emit('close')),
      );
    }
    setNoDelay() {}
    exec(command: string, cb: (err: Error | undefined, channel: Channel) => void) {
      const channel = new Channel(command);
      this.channels.push(channel);
      cb(undefined, channel);
    }
    end() {
      this.ended = true;
      queueMicrotask(() => this.emit('close'));
    }
  }
  return { ...actual, Client };
});

const host: ResolvedHost = {
  alias: 'hostA',
  hostName: '10.0.0.1',
  port: 22,
  user: 'root',
  identityFiles: [],
  identitiesOnly: false,
  knownHostsFiles: [],
  strictHostKeyChecking: 'yes',
};
const options = { connectTimeoutMs: 5000, keepaliveIntervalMs: 1000 };
let lines: string[];
const log: Logger = {
  trace() {},
  debug: (m) => lines.push(m),
  info: (m) => lines.push(m),
  warn: (m) => lines.push(m),
  error: (m) => lines.push(m),
};
/** how many times an exec settled: each settling logs its command's outcome once */
const settlings = () => lines.filter((l) => / -> exit /.test(l)).length;
const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubEnv('SSH_AUTH_SOCK', '/nonexistent/agent.sock'); // an agent to offer: no identity file is read
  ssh.clients.length = 0;
  ssh.outcomes.length = 0;
  lines = [];
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

async function connected() {
  const conn = await SshConnection.connect(host, options, log);
  return { conn, client: ssh.clients.at(-1)! };
}

/** an exec under way, and its channel */
async function started(conn: SshConnection, execOptions: Parameters<SshConnection['exec']>[1] = {}) {
  const client = ssh.clients.at(-1)!;
  const result = conn.exec(['virsh', 'list'], execOptions);
  result.catch(() => undefined);
  await flush();
  return { result, channel: client.channels.at(-1)! };
}

type Step = 'exit' | 'end' | 'stderrEnd' | 'close';
const permutations = <T>(xs: T[]): T[][] =>
  xs.length <= 1
    ? [xs]
    : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));

describe('SshConnection.exec settles exactly once', () => {
  it.each(
    permutations<Step>(['exit', 'end', 'stderrEnd', 'close']).map((order) => [order.join(' → '), order] as const),
  )('%s', async (_name, order) => {
    const { conn } = await connected();
    const { result, channel } = await started(conn);
    channel.emit('data', Buffer.from('out-1 '));
    channel.stderr.emit('data', Buffer.from('err-1 '));
    for (const step of order) {
      if (step === 'exit') channel.emit('exit', 3);
      if (step === 'end') channel.emit('end');
      if (step === 'stderrEnd') channel.stderr.emit('end');
      if (step === 'close') {
        channel.emit('close');
        // ssh2 may report the close before the last buffered output: what comes after it is still the command's
        if (order.indexOf('end') > order.indexOf('close')) channel.emit('data', Buffer.from('out-2'));
      }
    }
    await vi.advanceTimersByTimeAsync(1000);
    const r = await result;
    expect(r.code).toBe(3);
    expect(r.stdout).toBe(order.indexOf('end') > order.indexOf('close') ? 'out-1 out-2' : 'out-1 ');
    expect(r.stderr).toBe('err-1 ');
    expect(settlings()).toBe(1);
  });

  it('settles at once when everything has ended, and waits at most 200 ms for streams a close left open', async () => {
    const { conn } = await connected();
    const done = await started(conn);
    let settled = false;
    void done.result.then(() => (settled = true));
    done.channel.emit('exit', 0);
    done.channel.emit('end');
    done.channel.stderr.emit('end');
    done.channel.emit('close');
    await flush();
    expect(settled).toBe(true);

    const open = await started(conn);
    let late = false;
    void open.result.then(() => (late = true));
    open.channel.emit('exit', 0);
    open.channel.emit('close'); // the streams never end (the channel went with its connection, say)
    await vi.advanceTimersByTimeAsync(199);
    expect(late).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect((await open.result).code).toBe(0);
    expect(settlings()).toBe(2);
  });

  it("takes the exit status passed with 'close' when its 'exit' came before the listener", async () => {
    const { conn } = await connected();
    const { result, channel } = await started(conn);
    channel.emit('end');
    channel.stderr.emit('end');
    channel.emit('close', 7);
    expect((await result).code).toBe(7);
  });

  it('a channel closed with no exit status rejects as a dropped connection once the connection is found closed', async () => {
    const { conn, client } = await connected();
    const { result, channel } = await started(conn);
    channel.emit('close');
    client.emit('close');
    await vi.advanceTimersByTimeAsync(1000);
    await expect(result).rejects.toMatchObject({
      kind: 'closed',
      message: 'hostA: the connection dropped while running: virsh list',
    });
    expect(settlings()).toBe(1);
  });

  it('a timeout ends and closes the channel (the remote command is TERMed) and rejects, once, whatever follows', async () => {
    const { conn } = await connected();
    const { result, channel } = await started(conn, { timeoutMs: 3000 });
    expect(channel.command).toMatch(/^exec \/bin\/sh -c 'eval "\$\(printf %s [A-Za-z0-9+/=]+ \| base64 -d\)"'$/);
    expect(channel.written).toEqual(['']); // stdin held open: its end is the hang-up signal
    await vi.advanceTimersByTimeAsync(2999);
    expect([channel.ended, channel.closed]).toEqual([false, false]);
    await vi.advanceTimersByTimeAsync(1);
    expect([channel.ended, channel.closed]).toEqual([true, true]);
    // output after the give-up is not collected; the close ssh2 then reports settles it as the timeout
    channel.emit('data', Buffer.from('too late'));
    channel.emit('exit', 143);
    channel.emit('close');
    await flush();
    await expect(result).rejects.toMatchObject({ kind: 'timeout', message: 'hostA: no answer within 3 s: virsh list' });
    channel.emit('end');
    channel.stderr.emit('end');
    await vi.advanceTimersByTimeAsync(1000);
    expect(settlings()).toBe(1);
    expect(lines.find((l) => / -> exit /.test(l))).toMatch(/^hostA: virsh list -> exit timeout in \d+ ms$/);
  });

  it('a cancel ends and closes the channel and rejects as cancelled', async () => {
    const { conn } = await connected();
    const abort = new AbortController();
    const { result, channel } = await started(conn, { signal: abort.signal });
    abort.abort();
    expect([channel.ended, channel.closed]).toEqual([true, true]);
    channel.emit('close');
    await expect(result).rejects.toMatchObject({ kind: 'cancelled' });
  });

  it('an exec on a closed connection rejects at once, opening no channel', async () => {
    const { conn, client } = await connected();
    conn.close();
    await flush();
    expect(conn.isClosed).toBe(true);
    await expect(conn.exec(['true'])).rejects.toMatchObject({ kind: 'closed' });
    expect(client.channels).toHaveLength(0);
  });
});

describe('HostConnection over it', () => {
  const refused = () => Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:22'), { code: 'ECONNREFUSED' });
  let connection: HostConnection;
  let states: ConnectionState[];
  let connects: number;
  beforeEach(() => {
    connection = new HostConnection('hostA', { ...options, resolve: async () => host }, log);
    states = [];
    connects = 0;
    connection.onDidChangeState((s) => states.push(s));
    connection.onDidConnect(() => connects++);
  });
  afterEach(() => connection.dispose());

  it('fires onDidConnect after each connect, and reconnects with backoff (1, 2, 4 s…) after the link drops', async () => {
    await connection.connect(false);
    expect([connection.state.kind, connects]).toEqual(['connected', 1]);
    ssh.outcomes.push(refused(), refused(), refused());
    ssh.clients[0].emit('close'); // the link drops
    await flush();
    expect(connection.state).toMatchObject({ kind: 'failed', error: { kind: 'closed' }, retryAt: Date.now() + 1000 });
    expect(() => connection.exec(['true'])).toThrow(/not connected/);
    const retries: number[] = [];
    const t0 = Date.now();
    connection.onDidChangeState((s) => s.kind === 'connecting' && retries.push(Date.now() - t0));
    await vi.advanceTimersByTimeAsync(1000 + 2000 + 4000);
    expect(retries).toEqual([1000, 3000, 7000]);
    expect(connection.state).toMatchObject({ kind: 'failed', error: { kind: 'refused' }, retryAt: Date.now() + 8000 });
    expect(connects).toBe(1);
    await vi.advanceTimersByTimeAsync(8000); // the next attempt succeeds
    expect([connection.state.kind, connects, ssh.clients.length]).toEqual(['connected', 2, 5]);
    // after a success the backoff starts again from 1 s
    ssh.clients[4].emit('close');
    await flush();
    expect(connection.state).toMatchObject({ kind: 'failed', retryAt: Date.now() + 1000 });
    await vi.advanceTimersByTimeAsync(1000);
    expect([connection.state.kind, connects]).toEqual(['connected', 3]);
    expect(states.map((s) => s.kind)).toEqual([
      'connecting',
      'connected',
      'failed',
      'connecting',
      'failed',
      'connecting',
      'failed',
      'connecting',
      'failed',
      'connecting',
      'connected',
      'failed',
      'connecting',
      'connected',
    ]);
  });

  it('one connect at a time: callers during a connect share it', async () => {
    const [a, b] = [connection.connect(false), connection.connect(false)];
    expect(await a).toBe(await b);
    expect([ssh.clients.length, connects]).toEqual([1, 1]);
    expect(await connection.connect(false)).toBe(await a);
  });

  it('does not retry what a person must fix (authentication), nor after a disconnect on purpose', async () => {
    ssh.outcomes.push(
      Object.assign(new Error('All configured authentication methods failed'), { level: 'client-authentication' }),
    );
    await expect(connection.connect(false)).rejects.toMatchObject({ kind: 'auth' });
    expect(connection.state).toMatchObject({ kind: 'failed', retryAt: undefined });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ssh.clients).toHaveLength(1);

    await connection.connect(false);
    connection.disconnect();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(connection.state.kind).toBe('disconnected');
    expect([ssh.clients.length, connects]).toEqual([2, 1]);
    expect(ssh.clients[1].ended).toBe(true);
  });

  it('a drop noticed while a retry is pending is not a second timer', async () => {
    ssh.outcomes.push(refused());
    await connection.connect(false).catch((e: SshError) => e);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect([connection.state.kind, connects, vi.getTimerCount()]).toEqual(['connected', 1, 0]);
  });
});
