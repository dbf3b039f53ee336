/** Resolve a host the way `ssh` would: ~/.ssh/config (via the ssh-config library) or `[user@]host[:port]`. */
import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';
import { parseHostSpec } from '../core/hostSpec';

export interface ResolvedHost {
  /** what the user named: an alias or user@host:port */
  alias: string;
  hostName: string;
  port: number;
  user: string;
  identityFiles: string[];
  identitiesOnly: boolean;
  knownHostsFiles: string[];
  /** first hop of ProxyJump, as written (an alias or [user@]host[:port]) */
  proxyJump?: string;
  /** name looked up in known_hosts (HostKeyAlias, else the host name) */
  hostKeyAlias?: string;
}

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

export const defaultSshConfigPath = () => join(homedir(), '.ssh', 'config');

function expandPath(p: string, vars: { h: string; u: string; r: string; p: number }): string {
  let out = p.replace(/^~(?=\/|$)/, homedir());
  out = out.replace(/%([dhurp%])/g, (_, k: string) =>
    k === 'd' ? homedir() : k === 'h' ? vars.h : k === 'u' ? vars.u : k === 'r' ? vars.r : k === 'p' ? String(vars.p) : '%',
  );
  return out;
}

async function loadConfig(path: string): Promise<SSHConfig> {
  try {
    return SSHConfig.parse(await readFile(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return SSHConfig.parse('');
    throw e;
  }
}

/** Non-wildcard `Host` names of the ssh config, for "Add Host". */
export async function listConfigAliases(configPath: string): Promise<string[]> {
  const config = await loadConfig(configPath);
  const names: string[] = [];
  for (const line of config) {
    if (line.type !== SSHConfig.DIRECTIVE || line.param !== 'Host') continue;
    const values = Array.isArray(line.value) ? line.value.map((v) => v.val) : [line.value];
    for (const v of values) if (!/[*?!]/.test(v)) names.push(v);
  }
  return [...new Set(names)];
}

export async function resolveHost(name: string, configPath: string): Promise<ResolvedHost> {
  const spec = parseHostSpec(name);
  const config = await loadConfig(configPath);
  const c = config.compute(spec.host);
  const one = (key: string): string | undefined => {
    const v = c[key];
    return Array.isArray(v) ? v[0] : v;
  };
  const hostName = one('HostName')?.replace(/%h/g, spec.host) ?? spec.host;
  const user = spec.user ?? one('User') ?? userInfo().username;
  const port = spec.port ?? Number(one('Port') ?? 22);
  const vars = { h: hostName, u: userInfo().username, r: user, p: port };
  const identityValue = c.IdentityFile;
  const identities = (Array.isArray(identityValue) ? identityValue : identityValue ? [identityValue] : [])
    .map((p) => expandPath(p, vars));
  const knownHostsFiles = (one('UserKnownHostsFile') ?? '~/.ssh/known_hosts ~/.ssh/known_hosts2')
    .split(/\s+/)
    .filter(Boolean)
    .map((p) => expandPath(p, vars));
  knownHostsFiles.push('/etc/ssh/ssh_known_hosts');
  const proxyJump = one('ProxyJump');
  return {
    alias: name,
    hostName,
    port,
    user,
    identityFiles: identities.length ? identities : DEFAULT_IDENTITIES.map((f) => join(homedir(), '.ssh', f)),
    identitiesOnly: one('IdentitiesOnly')?.toLowerCase() === 'yes',
    knownHostsFiles,
    proxyJump: proxyJump && proxyJump.toLowerCase() !== 'none' ? proxyJump.split(',')[0] : undefined,
    hostKeyAlias: one('HostKeyAlias'),
  };
}
