/**
 * One interactive `virsh` kept open on a host and asked questions in turn: no process, libvirt connection or SSH
 * channel per question, so asking often costs the host a libvirt call each.
 *
 * virsh reads its input through GNU readline even from a pipe, and readline acts on edit keys (DEL erases, TAB
 * completes) before virsh's own tokenizer splits words. So nothing that comes from a host, a user or a file is ever
 * written to it: a command is words of a closed alphabet (verbs, options, UUIDs), checked here. Each answer ends with
 * a marker made of a random nonce, new for every question, so no text a host prints (a domain name) can end an
 * answer early or shift the answers that follow.
 *
 * An answer that never comes (libvirtd hung) is a timeout, not a hang: the question is rejected and the shell closed,
 * since the answers after it could no longer be matched to their questions.
 */
import { randomBytes } from 'node:crypto';
import { virsh } from '../core/virsh';
import type { RemoteHost } from '../remote/remoteHost';
import type { RemoteSession } from '../transport/sshConnection';
import { DEFAULT_EXEC_TIMEOUT_MS } from '../transport/sshConnection';
import { SshError } from '../transport/sshError';

/**
 * a word readline and virsh's tokenizer both pass through as it is: no quote, space, backslash, control or edit key
 * ('+' and '?' for a pod's URI, qemu+unix:///session?socket=…: plain characters to both)
 */
const SAFE_WORD = /^(--?)?[A-Za-z0-9][A-Za-z0-9._:=/+?-]*$/;

/** one virsh command as words, e.g. ['domjobinfo', '--rawstats', uuid] */
export type ShellCommand = readonly string[];

export interface Answer {
  /** what each command printed, in the order asked (the commands' echo and the markers taken off) */
  texts: string[];
  /** question written → answer read, ms */
  latencyMs: number;
}

/** The text written for one command; throws on a word that is not of the closed alphabet. */
function commandLine(command: ShellCommand): string {
  if (!command.length) throw new Error('an empty virsh command');
  for (const word of command) {
    if (!SAFE_WORD.test(word)) throw new Error(`not written to an interactive virsh: ${JSON.stringify(word)}`);
  }
  return command.join(' ');
}

interface Question {
  lines: string[];
  /** per command: the marker its answer ends with (as printed), and its echo as sent (quoted, so never whole) */
  markers: { printed: string; sent: string }[];
  resolve(a: Answer): void;
  reject(e: Error): void;
  sentAt: number;
}

/** longer than any marker: what is kept of the text before a chunk, to find a marker split over the two */
const MARKER_TAIL = 64;

/** virsh's prompt, written before it reads each line and followed there by the line itself: "virsh # " (root), "virsh > " */
const PROMPTS = ['virsh # ', 'virsh > '];

/** `text` less an exact leading `line` echoed after a prompt, and less an exact trailing echoed `tail` line */
function withoutEchoes(text: string, line: string, tail: string): string {
  for (const prompt of PROMPTS) {
    if (text.startsWith(`${prompt}${line}\n`)) {
      text = text.slice(prompt.length + line.length + 1);
      break;
    }
  }
  for (const prompt of PROMPTS) {
    if (text.endsWith(`${prompt}${tail}\n`)) return text.slice(0, text.length - prompt.length - tail.length - 1);
  }
  return text;
}

/**
 * Splits what a virsh shell prints into the answers of the questions asked, in order. Pure apart from what it holds of an answer:
 * fed chunks as they arrive (a marker may be split over two).
 */
export class AnswerReader {
  /**
   * what came since the last marker, as the chunks that brought it: joined once, when its answer is complete (a long
   * answer, a listing of a thousand domains, arrives in hundreds of chunks: joining and searching all of it for each
   * would cost the square of its length)
   */
  private chunks: string[] = [];
  /** the end of those chunks, where the start of a marker split over two chunks is */
  private tail = '';
  private readonly questions: Question[] = [];
  private texts: string[] = [];

  /** the text to write for these commands, and the question to hand to expect() */
  static frame(
    commands: readonly ShellCommand[],
    nonce = randomBytes(12).toString('hex'),
  ): { input: string; lines: string[]; markers: Question['markers'] } {
    const lines = commands.map(commandLine);
    const markers = lines.map((_, i) => {
      const printed = `ferry-${nonce}-${i}`;
      // quoted in what is sent, so only virsh's answer holds it whole, not the echoed input line
      return { printed, sent: `echo ferry-"${nonce}-${i}"` };
    });
    return { input: lines.map((l, i) => `${l}\n${markers[i].sent}\n`).join(''), lines, markers };
  }

  expect(question: Question): void {
    this.questions.push(question);
  }

  feed(text: string): void {
    for (;;) {
      const question = this.questions[0];
      if (!question) {
        // nothing asked: what virsh prints now is the prompt the next question's echo follows
        this.chunks = [(this.tail + text).slice(-PROMPTS[0].length)];
        this.tail = this.chunks[0];
        return;
      }
      const i = this.texts.length;
      const { printed, sent } = question.markers[i];
      // the marker is in the new text, or begins in the tail of what came before it
      const window = this.tail.slice(-(printed.length - 1)) + text;
      const found = window.indexOf(printed);
      if (found < 0) {
        this.chunks.push(text);
        this.tail = window.slice(-MARKER_TAIL);
        return;
      }
      const before = this.chunks.join('');
      const at = before.length - (window.length - text.length) + found;
      const whole = before + text;
      this.texts.push(withoutEchoes(whole.slice(0, at), question.lines[i], sent));
      text = whole.slice(at + printed.length);
      this.chunks = [];
      this.tail = '';
      if (this.texts.length === question.lines.length) {
        this.questions.shift();
        question.resolve({ texts: this.texts, latencyMs: performance.now() - question.sentAt });
        this.texts = [];
      }
    }
  }

  failAll(e: Error): void {
    for (const q of this.questions.splice(0)) q.reject(e);
  }
}

export interface ShellOptions {
  /** how long one question may wait for its answer (DEFAULT_EXEC_TIMEOUT_MS); 0: forever */
  timeoutMs?: number;
  /** what the shell is, for errors: e.g. "hostA: the listing shell" */
  label?: string;
}

export class VirshShell {
  private readonly reader = new AnswerReader();
  private closed = false;
  private readonly timeoutMs: number;
  private readonly label: string;

  private constructor(
    private session: Pick<RemoteSession, 'write' | 'close'> | undefined,
    options: ShellOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    this.label = options.label ?? 'the virsh shell';
  }

  static async open(
    host: RemoteHost,
    uri: string,
    what: string,
    options: Omit<ShellOptions, 'label'> = {},
  ): Promise<VirshShell> {
    const label = `${host.alias}: the ${what}`;
    return VirshShell.over((onData) => host.session(virsh(uri), onData), `${label} ended`, { ...options, label });
  }

  /** A shell over any session that runs virsh (the lab's, or a local virsh in tests). */
  static async over(
    start: (onData: (text: string) => void) => Promise<RemoteSession>,
    endedMessage: string,
    options: ShellOptions = {},
  ): Promise<VirshShell> {
    const shell = new VirshShell(undefined, options);
    const session = await start((text) => shell.reader.feed(text));
    shell.session = session;
    void session.done.then(() => shell.fail(new SshError('closed', endedMessage)));
    return shell;
  }

  /** closed by us, ended by the host, or given up after a question got no answer */
  get isClosed(): boolean {
    return this.closed;
  }

  private fail(e: Error) {
    this.closed = true;
    this.reader.failAll(e);
  }

  /** Ask virsh commands in one write; rejects once the shell is gone, or at once for a word it may not be given. */
  ask(commands: readonly ShellCommand[]): Promise<Answer> {
    if (this.closed || !this.session) return Promise.reject(new SshError('closed', 'the virsh shell is closed'));
    let framed: ReturnType<typeof AnswerReader.frame>;
    try {
      framed = AnswerReader.frame(commands);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return new Promise((resolve, reject) => {
      const timer = this.timeoutMs ? setTimeout(() => this.timedOut(framed.lines), this.timeoutMs) : undefined;
      this.reader.expect({
        lines: framed.lines,
        markers: framed.markers,
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
        sentAt: performance.now(),
      });
      this.session!.write(framed.input);
    });
  }

  /** A question got no answer in time: it and every one after it fail, and the shell is closed. */
  private timedOut(lines: readonly string[]): void {
    if (this.closed) return;
    const asked = lines.length > 1 ? `${lines[0]} (and ${lines.length - 1} more)` : lines[0];
    this.session?.close();
    this.fail(
      new SshError(
        'timeout',
        `${this.label} gave no answer within ${this.timeoutMs / 1000} s to: ${asked}`,
        'The host, or libvirtd on it, may be hung; the shell was closed.',
      ),
    );
  }

  close(): void {
    if (this.closed) return;
    this.session?.close();
    this.fail(new SshError('closed', 'the virsh shell was closed'));
  }
}
