/** What the user typed for a host: an ~/.ssh/config alias, or `[user@]host[:port]` (IPv6 as `[addr]:port`). */
export interface HostSpec {
  host: string;
  user?: string;
  port?: number;
}

export function parseHostSpec(input: string): HostSpec {
  const text = input.trim();
  if (!text || /\s/.test(text))
    throw new Error(`"${input}" is not a host: use an ssh config alias or user@host[:port]`);
  const at = text.lastIndexOf('@');
  const user = at > 0 ? text.slice(0, at) : undefined;
  let rest = at >= 0 ? text.slice(at + 1) : text;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracketed) {
    rest = bracketed[1];
    if (bracketed[2]) port = Number(bracketed[2]);
  } else {
    const colon = /^([^:]+):(\d+)$/.exec(rest);
    if (colon) {
      rest = colon[1];
      port = Number(colon[2]);
    } else if (rest.includes(':') && !rest.includes('::') && rest.split(':').length === 2) {
      throw new Error(`"${input}": the port after ':' must be a number`);
    }
  }
  if (!rest) throw new Error(`"${input}" names no host`);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new Error(`"${input}": port must be 1-65535`);
  }
  return { host: rest, user, port };
}
