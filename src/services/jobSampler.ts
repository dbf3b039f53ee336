/**
 * One persistent reader per migration job: a single interactive `virsh` on the source host, asked for
 * `domjobinfo --rawstats` as often as the caller likes. No process or SSH channel per sample, so 20 Hz costs the host
 * one libvirt query each time, not an sshd session, a shell and a virsh start-up.
 */
import type { JobStats } from '../core/migration/job';
import { jobReaderQuery, parseJobStats } from '../core/migration/job';
import type { RemoteHost } from '../remote/remoteHost';
import { VirshShell } from './virshShell';

export interface JobReading {
  stats: JobStats;
  /** query written → answer parsed, ms (the host read the value somewhere inside it) */
  latencyMs: number;
}

export class JobReader {
  private constructor(
    private readonly uuid: string,
    private readonly shell: VirshShell,
  ) {}

  static async open(host: RemoteHost, uri: string, uuid: string): Promise<JobReader> {
    return new JobReader(uuid, await VirshShell.open(host, uri, 'job reader'));
  }

  /** One reading of the job (a domain that is gone answers "no job"). Rejects if the reader's channel is gone. */
  async read(): Promise<JobReading> {
    const answer = await this.shell.ask([jobReaderQuery(this.uuid)]);
    return { stats: parseJobStats(answer.texts[0]), latencyMs: answer.latencyMs };
  }

  close(): void {
    this.shell.close();
  }
}
