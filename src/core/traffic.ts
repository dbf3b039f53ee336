/**
 * The interface traffic view's readings: the host's stream (remote/scripts/traffic-stream.bash) split into readings,
 * and two readings made into rates on the host's clock, so the link's delays never show as a change of rate.
 */
import { type KernelQos, parseKernelQos } from './qos';

/** the traffic view's readings: four a second */
export const TRAFFIC_INTERVAL_MS = 250;

/** One reading of a host device: when the host read its byte counters (its clock, ms since the epoch), what tc showed. */
export interface TrafficReading {
  atMs: number;
  kernel: KernelQos;
}

/** A point of the traffic chart: rates between two readings and what the kernel enforces at the second. */
export interface TrafficSample {
  /** the host's clock at the second reading, ms since the epoch */
  t: number;
  /** Mbit/s the host sent into the device (towards the guest on a tap) and received from it */
  intoGuestMbps: number;
  outOfGuestMbps: number;
  /** what the kernel enforces now: the HTB class rate and the policer rate, Mbit/s */
  shapedMbps?: number;
  policedMbps?: number;
  /** the shaping class's counters since it was made */
  sentBytes?: number;
  dropped?: number;
  overlimits?: number;
}

/** a block longer than this is no reading of one device (tc prints a few KiB): the stream is not the script's */
const MAX_BLOCK_LINES = 2000;
const MAX_LINE_CHARS = 64 * 1024;
const AT = /^@@at (\d{1,17})$/;

/**
 * Splits what the stream prints into readings. Fed chunks as they arrive (a line may be split over two); throws on
 * a block that is not the script's, since the readings after it could no longer be trusted.
 */
export class TrafficBlocks {
  private partial = '';
  private lines: string[] = [];

  constructor(private readonly onReading: (reading: TrafficReading) => void) {}

  feed(chunk: string): void {
    const text = this.partial + chunk;
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    if (this.partial.length > MAX_LINE_CHARS)
      throw new Error(`the traffic stream printed a line of over ${MAX_LINE_CHARS} characters`);
    for (const line of parts) {
      if (line !== '@@end') {
        this.lines.push(line);
        if (this.lines.length > MAX_BLOCK_LINES)
          throw new Error(`the traffic stream printed a reading of over ${MAX_BLOCK_LINES} lines`);
        continue;
      }
      const [first = '', ...body] = this.lines;
      this.lines = [];
      const at = AT.exec(first);
      if (!at)
        throw new Error(`the traffic stream printed ${JSON.stringify(first.slice(0, 80))} where a reading starts`);
      this.onReading({ atMs: Number(at[1]) / 1000, kernel: parseKernelQos(body.join('\n')) });
    }
  }
}

/** Two readings as rates over the host's interval between them; the enforced rates and counters of the second. */
export function trafficSample(before: TrafficReading, now: TrafficReading): TrafficSample {
  const seconds = Math.max(0.001, (now.atMs - before.atMs) / 1000);
  const rate = (a?: number, b?: number) =>
    a !== undefined && b !== undefined ? Math.max(0, ((b - a) * 8) / seconds / 1e6) : 0;
  const k = now.kernel;
  return {
    t: now.atMs,
    intoGuestMbps: rate(before.kernel.txBytes, k.txBytes),
    outOfGuestMbps: rate(before.kernel.rxBytes, k.rxBytes),
    shapedMbps: k.htb && k.htb.rateBits / 1e6,
    policedMbps: k.police && k.police.rateBits / 1e6,
    sentBytes: k.htb?.sentBytes,
    dropped: k.htb?.dropped,
    overlimits: k.htb?.overlimits,
  };
}

/** A saved sample (from a restored view's state, which the webview hands back): numbers only, or nothing. */
export function isTrafficSample(x: unknown): x is TrafficSample {
  if (typeof x !== 'object' || x === null) return false;
  const s = x as Record<string, unknown>;
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  const opt = (v: unknown) => v === undefined || num(v);
  return (
    num(s.t) &&
    num(s.intoGuestMbps) &&
    num(s.outOfGuestMbps) &&
    opt(s.shapedMbps) &&
    opt(s.policedMbps) &&
    opt(s.sentBytes) &&
    opt(s.dropped) &&
    opt(s.overlimits)
  );
}
