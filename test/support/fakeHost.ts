/**
 * A RemoteHost for unit tests: exec, session and stream answered from scripted or captured transcripts, and connects,
 * drops and events the test controls. Timers it starts (a hung command's timeout) are ordinary setTimeouts, so vitest's
 * fake timers drive them.
 *
 * - exec: rules (argv matcher → answer), the last added first; `'hang'` never answers and, as HostConnection does,
 *   rejects with a timeout SshError after the command's timeoutMs.
 * - session: an interactive virsh whose questions (one command per line, `echo` markers included) are answered by a
 *   shell handler; a question answered `'hang'` blocks the shell, as a virsh waiting on a hung libvirtd does.
 * - session: or, for argv matched by onSession, a scripted program (a conntrack listing waiting for its "go"): what it
 *   prints when opened, for each line written and at the end of its input, and when it exits.
 * - stream: every stream opened is kept; the test pushes lines into them (`emit`) or ends them.
 * - connect: refused (throws an SshError, the state failed) while `reachable` is false, as a host that is down.
 * - VirshModel: a host's domains, printed as the captured listings print them (test/fixtures/virsh-*.txt).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Event } from '../../src/core/emitter';
import { Emitter } from '../../src/core/emitter';
import type { Argv } from '../../src/core/virsh';
import { eventsArgv, listDomainsArgv, parseDomainList, parseDomstats } from '../../src/core/virsh';
import type {
  ConnectionState,
  ExecOptions,
  ExecResult,
  RemoteHost,
  RemoteSession,
  RemoteStream,
} from '../../src/remote/remoteHost';
import { DEFAULT_EXEC_TIMEOUT_MS } from '../../src/transport/sshConnection';
import { SshError } from '../../src/transport/sshError';

export const fixture = (name: string): string => readFileSync(join(__dirname, '..', 'fixtures', name), 'utf8');

export type ArgvMatcher = string | RegExp | ((argv: Argv) => boolean);
export type ExecAnswer =
  | Partial<ExecResult>
  | 'hang'
  | ((argv: Argv, options: ExecOptions | undefined) => Partial<ExecResult> | 'hang' | Promise<Partial<ExecResult>>);
/** a virsh shell's answer to one command (its words); 'hang': no answer, and none to what follows */
export type ShellHandler = (words: string[]) => string | 'hang';

const matches = (m: ArgvMatcher, argv: Argv) =>
  typeof m === 'function'
    ? m(argv)
    : typeof m === 'string'
      ? argv.join(' ') === m || argv.includes(m)
      : m.test(argv.join(' '));

export interface FakeStream extends RemoteStream {
  argv: Argv;
  closed: boolean;
  emit(line: string): void;
  /** the remote command ends by itself (virsh event exits when libvirtd restarts) */
  end(code?: number | null): void;
}

/** what a scripted session does: print, or exit with a status (null: killed) */
export interface SessionIO {
  print(text: string): void;
  exit(code: number | null): void;
}

/** a scripted program behind a session (see FakeHost.onSession) */
export interface SessionScript {
  opened?(io: SessionIO): void;
  /** one line written to it */
  line?(line: string, io: SessionIO): void;
  /** its input ended (end()) */
  ended?(io: SessionIO): void;
}

export interface FakeSession extends RemoteSession {
  argv: Argv;
  closed: boolean;
  /** everything written to it */
  written: string;
}

export class FakeHost implements RemoteHost {
  private readonly stateEmitter = new Emitter<ConnectionState>();
  readonly onDidChangeState: Event<ConnectionState> = this.stateEmitter.event;
  private readonly connectEmitter = new Emitter<void>();
  readonly onDidConnect: Event<void> = this.connectEmitter.event;
  state: ConnectionState = { kind: 'disconnected' };
  private readonly rules: { match: ArgvMatcher; answer: ExecAnswer }[] = [];
  private readonly scripts: { match: ArgvMatcher; script: SessionScript }[] = [];
  /** false: connect() is refused, as by a host that is down */
  reachable = true;
  /** every exec asked, in order */
  readonly execs: { argv: Argv; options?: ExecOptions }[] = [];
  readonly streams: FakeStream[] = [];
  readonly sessions: FakeSession[] = [];
  /** answers virsh shell questions; by default nothing is known */
  shell: ShellHandler = (words) => `error: unknown command: '${words[0]}'\n`;
  /** what a session prints is delivered in chunks of at most this many characters (a marker may be split) */
  chunkSize = Infinity;

  constructor(readonly alias = 'fake') {}

  /** answer execs matching `match` (the last rule added that matches answers) */
  onExec(match: ArgvMatcher, answer: ExecAnswer): this {
    this.rules.push({ match, answer });
    return this;
  }

  /** the execs asked whose argv matches */
  execsOf(match: ArgvMatcher): Argv[] {
    return this.execs.filter((e) => matches(match, e.argv)).map((e) => e.argv);
  }

  /** sessions whose argv matches `match` run `script` instead of the virsh shell (the last added first) */
  onSession(match: ArgvMatcher, script: SessionScript): this {
    this.scripts.push({ match, script });
    return this;
  }

  /** connect (nothing happens if connected); throws, the state failed, while the host is not reachable */
  connect(): void {
    if (this.state.kind === 'connected') return;
    if (!this.reachable) {
      const error = new SshError('refused', `${this.alias}: connection refused`);
      this.setState({ kind: 'failed', error });
      throw error;
    }
    this.setState({ kind: 'connected' });
    this.connectEmitter.fire();
  }

  /** the link drops: every channel ends with it */
  drop(): void {
    for (const s of [...this.streams, ...this.sessions]) s.close();
    this.setState({ kind: 'failed', error: new SshError('closed', `${this.alias}: connection lost`) });
  }

  private setState(state: ConnectionState) {
    this.state = state;
    this.stateEmitter.fire(state);
  }

  private live(): void {
    if (this.state.kind !== 'connected') throw new SshError('closed', `${this.alias}: not connected`);
  }

  async exec(argv: Argv, options?: ExecOptions): Promise<ExecResult> {
    this.live();
    this.execs.push({ argv, options });
    const rule = [...this.rules].reverse().find((r) => matches(r.match, argv));
    const answer = rule
      ? typeof rule.answer === 'function'
        ? await rule.answer(argv, options)
        : rule.answer
      : { code: 127, stderr: `fakeHost: nothing scripted for ${JSON.stringify(argv)}\n` };
    if (answer === 'hang') {
      const timeoutMs = options?.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
      return new Promise((_, reject) => {
        if (timeoutMs)
          setTimeout(
            () =>
              reject(
                new SshError('timeout', `${this.alias}: no answer within ${timeoutMs / 1000} s: ${argv.join(' ')}`),
              ),
            timeoutMs,
          );
      });
    }
    return { code: 0, stdout: '', stderr: '', ms: 1, ...answer };
  }

  async session(argv: Argv, onData: (text: string) => void): Promise<RemoteSession> {
    this.live();
    const scripted = [...this.scripts].reverse().find((r) => matches(r.match, argv));
    if (scripted) return this.scriptedSession(argv, onData, scripted.script);
    let pending = '';
    let blocked = false;
    let finish: (code: number | null) => void = () => undefined;
    const done = new Promise<number | null>((resolve) => (finish = resolve));
    const deliver = (text: string) =>
      void Promise.resolve().then(() => {
        for (let i = 0; i < text.length && !session.closed; i += Math.min(this.chunkSize, text.length))
          onData(text.slice(i, i + this.chunkSize));
      });
    const session: FakeSession = {
      argv,
      closed: false,
      written: '',
      write: (text) => {
        if (session.closed) return;
        session.written += text;
        pending += text;
        let out = '';
        for (let nl = pending.indexOf('\n'); nl >= 0 && !blocked; nl = pending.indexOf('\n')) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          // virsh's echo: the word with its quotes taken off (only the markers are echoed); what follows the marker
          // is the next prompt, not a line feed the next answer would start with (as AnswerReader sees a real virsh)
          if (line.startsWith('echo ')) out += line.slice(5).replace(/"/g, '');
          else {
            const answer = this.shell(line.split(' '));
            if (answer === 'hang') blocked = true;
            else out += answer;
          }
        }
        if (out) deliver(out);
      },
      end: () => session.close(),
      close: () => {
        if (session.closed) return;
        session.closed = true;
        finish(null);
      },
      done,
    };
    this.sessions.push(session);
    return session;
  }

  private scriptedSession(argv: Argv, onData: (text: string) => void, script: SessionScript): FakeSession {
    let pending = '';
    let finish: (code: number | null) => void = () => undefined;
    const done = new Promise<number | null>((resolve) => (finish = resolve));
    const io: SessionIO = {
      print: (text) => void Promise.resolve().then(() => !session.closed && onData(text)),
      // what it printed before it exited is delivered first
      exit: (code) =>
        void Promise.resolve().then(() => {
          if (session.closed) return;
          session.closed = true;
          finish(code);
        }),
    };
    const session: FakeSession = {
      argv,
      closed: false,
      written: '',
      write: (text) => {
        if (session.closed) return;
        session.written += text;
        pending += text;
        for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          script.line?.(line, io);
        }
      },
      end: () => {
        if (!session.closed) script.ended?.(io);
      },
      close: () => {
        if (session.closed) return;
        session.closed = true;
        finish(null);
      },
      done,
    };
    this.sessions.push(session);
    script.opened?.(io);
    return session;
  }

  async stream(argv: Argv, onLine: (line: string) => void): Promise<RemoteStream> {
    this.live();
    let finish: (code: number | null) => void = () => undefined;
    const stream: FakeStream = {
      argv,
      closed: false,
      done: new Promise((resolve) => (finish = resolve)),
      emit: (line) => {
        if (!stream.closed) onLine(line);
      },
      end: (code = 0) => {
        if (stream.closed) return;
        stream.closed = true;
        finish(code);
      },
      close: () => stream.end(null),
    };
    this.streams.push(stream);
    return stream;
  }

  /** the streams still open whose argv matches */
  openStreams(match: ArgvMatcher): FakeStream[] {
    return this.streams.filter((s) => !s.closed && matches(match, s.argv));
  }

  dispose(): void {
    this.stateEmitter.dispose();
    this.connectEmitter.dispose();
  }
}

export interface ModelDomain {
  uuid: string;
  name: string;
  /** the domstats fields in the order virsh prints them (state.state, state.reason, balloon.*, vcpu.*) */
  fields: Map<string, string>;
}

/**
 * One host's libvirt as the captures show it: the listing and domstats printed from its domains, a virsh shell that
 * answers `list --all --uuid`, `domuuid --domain NAME`, `domname UUID` and `domstats … UUID`, and `virsh event` lines
 * in the captured format.
 */
export class VirshModel {
  constructor(readonly domains: ModelDomain[] = []) {}

  /** the domains of the lab capture (virsh-list-all-uuid-name.txt, virsh-domstats-raw.txt) */
  static fromCapture(): VirshModel {
    const stats = parseDomstats(fixture('virsh-domstats-raw.txt'));
    return new VirshModel(
      parseDomainList(fixture('virsh-list-all-uuid-name.txt')).map(({ uuid, name }) => ({
        uuid,
        name,
        fields: new Map(stats.get(name)?.fields),
      })),
    );
  }

  define(
    uuid: string,
    name: string,
    fields: Record<string, string> = {
      'state.state': '5',
      'state.reason': '0',
      'vcpu.current': '1',
      'vcpu.maximum': '1',
      'balloon.current': '65536',
      'balloon.maximum': '65536',
    },
  ): ModelDomain {
    const d = { uuid, name, fields: new Map(Object.entries(fields)) };
    this.domains.push(d);
    return d;
  }

  undefine(name: string): void {
    this.domains.splice(
      this.domains.findIndex((d) => d.name === name),
      1,
    );
  }

  setState(name: string, state: number, reason: number): void {
    const d = this.domains.find((x) => x.name === name)!;
    d.fields.set('state.state', String(state));
    d.fields.set('state.reason', String(reason));
  }

  /** `virsh -q list --all --uuid --name`, as captured */
  namesText(): string {
    return this.domains.map((d) => `${d.uuid} ${d.name}\n`).join('');
  }

  /** listDomainsArgv's output: the UUIDs, `@names`, UUID and name, the stats mark, domstats' (echo ends no line) */
  listingText(statsMark: string): string {
    const uuids = this.domains.map((d) => `${d.uuid}\n`).join('');
    return `${uuids}@names${this.namesText()}${statsMark}${this.domstatsText()}`;
  }

  /** `virsh -q domstats --raw --state --vcpu --balloon`, as captured */
  domstatsText(domains = this.domains): string {
    return `${domains.map((d) => [`Domain: '${d.name}'`, ...[...d.fields].map(([k, v]) => `  ${k}=${v}`)].join('\n')).join('\n\n')}\n`;
  }

  /** a `virsh event --loop --timestamp` line, as captured */
  static eventLine(name: string, type: string, detail: string): string {
    return `2026-11-22 02:14:02.433+0000: event '${type}' for domain '${name}': ${detail}`;
  }

  /** answers to the listing shell's questions */
  readonly shell: ShellHandler = (words) => {
    if (words.join(' ') === 'list --all --uuid') return this.domains.map((d) => `${d.uuid}\n`).join('');
    if (words[0] === 'domuuid' && words[1] === '--domain') {
      const d = this.domains.find((x) => x.name === words[2]);
      return d ? `${d.uuid}\n` : '';
    }
    if (words[0] === 'domstats') {
      const d = this.domains.find((x) => x.uuid === words.at(-1));
      return d ? this.domstatsText([d]) : '';
    }
    if (words[0] === 'domname') {
      const d = this.domains.find((x) => x.uuid === words[1]);
      return d ? `${d.name}\n` : '';
    }
    return `error: unknown command: '${words[0]}'\n`;
  };

  /** a FakeHost answering the inventory's listing, statistics and shell from this model (addresses: none heard) */
  serve(host: FakeHost, uri = 'qemu:///system'): FakeHost {
    host.shell = this.shell;
    return host
      .onExec(() => true, { code: 0, stdout: '@neighbours\n' })
      .onExec(
        (a) => listingMark(a, uri) !== undefined,
        (a) => ({ stdout: this.listingText(listingMark(a, uri)!) }),
      );
  }
}

/** the stats mark of the inventory's listing (core/virsh listDomainsArgv); undefined for any other argv */
export function listingMark(argv: Argv, uri = 'qemu:///system'): string | undefined {
  const mark = /; echo (@stats\/[0-9a-f]{16}); /.exec(argv.at(-1) ?? '')?.[1];
  return mark && argv.join(' ') === listDomainsArgv(uri, mark).join(' ') ? mark : undefined;
}

/** the argv of the inventory's event stream */
export const isEventStream = (argv: Argv): boolean => argv.join(' ') === eventsArgv('qemu:///system').join(' ');
