/**
 * One interactive `virsh` kept open on a host and asked questions in turn: no process, libvirt connection or SSH
 * channel per question, so asking often costs the host a libvirt call each. Each question ends with an echoed
 * marker; it is quoted in what is sent (`ferry-"answered"`), so only virsh's answer holds it whole, not the echoed
 * input line. Answers come back in the order asked.
 */
import { virsh } from '../core/virsh';
import type { HostConnection } from '../transport/hostConnection';
import type { RemoteSession } from '../transport/sshConnection';
import { SshError } from '../transport/sshError';

const ANSWERED = 'ferry-answered';
/** virsh reading a pipe prints its prompt and each command it reads ("virsh # domstate …"; "virsh > " for non-root) */
const ECHOED = /^virsh [#>] .*(\n|$)/gm;

export interface Answer {
  text: string;
  /** question written → answer read, ms */
  latencyMs: number;
}

export class VirshShell {
  private answer: string[] = [];
  /** the last characters seen: the marker may arrive split over two chunks */
  private tail = '';
  private readonly waiting: { resolve(a: Answer): void; reject(e: Error): void; sentAt: number }[] = [];
  private closed = false;

  private constructor(private session: RemoteSession | undefined) {}

  static async open(connection: HostConnection, uri: string, what: string): Promise<VirshShell> {
    const shell = new VirshShell(undefined);
    shell.session = await connection.session(virsh(uri), (text) => shell.onData(text));
    void shell.session.done.then(() => shell.fail(new SshError('closed', `${connection.alias}: the ${what} ended`)));
    return shell;
  }

  private onData(text: string) {
    // only what is new (and the few characters before it) is searched for the marker: an answer can be long
    let seen = this.tail + text;
    for (let at = seen.indexOf(ANSWERED); at >= 0; at = seen.indexOf(ANSWERED)) {
      const cut = at - this.tail.length; // where the marker starts in `text` (negative: in the tail)
      const before = this.answer.join('');
      const answer = cut >= 0 ? before + text.slice(0, cut) : before.slice(0, before.length + cut);
      const waiter = this.waiting.shift();
      waiter?.resolve({ text: answer.replace(ECHOED, ''), latencyMs: performance.now() - waiter.sentAt });
      text = text.slice(Math.max(0, cut + ANSWERED.length));
      this.answer = [];
      this.tail = '';
      seen = text;
    }
    this.answer.push(text);
    this.tail = seen.slice(-ANSWERED.length);
  }

  private fail(e: Error) {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(e);
  }

  /**
   * virsh commands, each ending with a newline; the answer is all they print (not the commands echoed). Rejects once
   * the shell is gone.
   */
  ask(commands: string): Promise<Answer> {
    if (this.closed || !this.session) return Promise.reject(new SshError('closed', 'the virsh shell is closed'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject, sentAt: performance.now() });
      this.session!.write(`${commands}echo ferry-"answered"\n`);
    });
  }

  close(): void {
    if (this.closed) return;
    this.session?.close();
    this.fail(new SshError('closed', 'the virsh shell was closed'));
  }
}
