/**
 * A host device's traffic, streamed: one channel and one host-side bash (with one tc) for as long as it is watched,
 * a reading every interval on the host's clock. Viewing starts no process on the host after the stream's first.
 */
import { type TrafficReading, TrafficBlocks } from '../core/traffic';
import { trafficStreamArgv } from '../remote/qos';
import type { RemoteHost } from '../remote/remoteHost';

export interface TrafficStream {
  /** ends the stream (its host side exits at the end of its stdin) */
  close(): void;
  /** resolves when the stream has ended: undefined when closed here, else why it ended, for the user */
  ended: Promise<string | undefined>;
}

/** Stream readings of `device` on `host` every `intervalMs`; rejects when the channel cannot be opened. */
export async function streamTraffic(
  host: RemoteHost,
  device: string,
  intervalMs: number,
  onReading: (reading: TrafficReading) => void,
): Promise<TrafficStream> {
  const argv = trafficStreamArgv(device, intervalMs);
  let closedHere = false;
  let failure: string | undefined;
  let stderr = '';
  const blocks = new TrafficBlocks(onReading);
  const session = await host.session(
    argv,
    (chunk) => {
      if (failure !== undefined) return;
      try {
        blocks.feed(chunk);
      } catch (e) {
        failure = (e as Error).message;
        session.close();
      }
    },
    (text) => (stderr = (stderr + text).slice(-2000)),
  );
  const ended = session.done.then((code) => {
    if (closedHere && failure === undefined) return undefined;
    if (failure !== undefined) return `${host.alias}: ${failure}`;
    const said = stderr
      .trim()
      .split('\n')
      .pop()
      ?.replace(/^ferry-traffic: /, '');
    if (code === 127)
      return `${host.alias} has no bash, which Ferry's traffic stream runs in (${said ?? 'not found'}).`;
    return `${host.alias}: the traffic stream of ${device} ended (${said || `exit ${code ?? 'by a signal'}`}).`;
  });
  return {
    close: () => {
      closedHere = true;
      session.close();
    },
    ended,
  };
}
