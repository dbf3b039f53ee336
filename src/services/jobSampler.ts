/**
 * One persistent reader per migration job: a single interactive `virsh` on the source host, asked for
 * `domjobinfo --rawstats` as often as the caller likes. No process or SSH channel per sample, so 20 Hz costs the host
 * one libvirt query each time, not an sshd session, a shell and a virsh start-up.
 */
import type { JobStats } from '../core/migration/job';
import { JOB_READER_END, jobReaderArgv, jobReaderQuery, parseJobStats } from '../core/migration/job';
import type { HostConnection } from '../transport/hostConnection';
import type { RemoteSession } from '../transport/sshConnection';
import { SshError } from '../transport/sshError';

export interface JobReading {
  stats: JobStats;
  /** query written → answer parsed, ms (the host read the value somewhere inside it) */
  latencyMs: number;
}

export class JobReader {
  private buffer = '';
  private pending: { resolve(r: JobReading): void; reject(e: Error): void; sentAt: number }[] = [];
  private closed = false;

  private constructor(
    private readonly uuid: string,
    private session: RemoteSession | undefined,
  ) {}

  static async open(connection: HostConnection, uri: string, uuid: string): Promise<JobReader> {
    const reader = new JobReader(uuid, undefined);
    reader.session = await connection.session(jobReaderArgv(uri), (text) => reader.onData(text));
    void reader.session.done.then(() => reader.fail(new SshError('closed', `${connection.alias}: the job reader ended`)));
    return reader;
  }

  private onData(text: string) {
    this.buffer += text;
    let end: number;
    while ((end = this.buffer.indexOf(JOB_READER_END)) >= 0) {
      const answer = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + JOB_READER_END.length);
      const waiter = this.pending.shift();
      // a domain that is gone answers on stderr with nothing here: "no job"
      waiter?.resolve({ stats: parseJobStats(answer), latencyMs: performance.now() - waiter.sentAt });
    }
  }

  private fail(e: Error) {
    this.closed = true;
    for (const waiter of this.pending.splice(0)) waiter.reject(e);
  }

  /** One reading of the job. Rejects if the reader's channel is gone. */
  read(): Promise<JobReading> {
    if (this.closed || !this.session) return Promise.reject(new SshError('closed', 'the job reader is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject, sentAt: performance.now() });
      this.session!.write(jobReaderQuery(this.uuid));
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session?.close();
    this.fail(new SshError('closed', 'the job reader was closed'));
  }
}
