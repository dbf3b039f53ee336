/**
 * Resolve a host the way `ssh` would (checked against `ssh -G` in the unit tests): ~/.ssh/config through the
 * ssh-config library, with its Include files read in, or `[user@]host[:port]`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
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
  /** every hop of ProxyJump in order, as written (aliases or [user@]host[:port]) */
  proxyJump?: string[];
  /** looked up in known_hosts as written, whatever the port (else the host name, as [host]:port off port 22) */
  hostKeyAlias?: string;
  /** ask: ask about an unknown key; yes: refuse it; accept-new / no: store it without asking (a changed key is refused) */
  strictHostKeyChecking: 'ask' | 'yes' | 'accept-new' | 'no';
}

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

export const defaultSshConfigPath = () => join(homedir(), '.ssh', 'config');

function expandPath(p: string, vars: { h: string; u: string; r: string; p: number }): string {
  let out = p.replace(/^~(?=\/|$)/, homedir());
  out = out.replace(/%([dhurp%])/g, (_, k: string) =>
    k === 'd'
      ? homedir()
      : k === 'h'
        ? vars.h
        : k === 'u'
          ? vars.u
          : k === 'r'
            ? vars.r
            : k === 'p'
              ? String(vars.p)
              : '%',
  );
  return out;
}

const MAX_INCLUDE_DEPTH = 16; // as OpenSSH's READCONF_MAX_DEPTH

/** The files an Include pattern names: relative to ~/.ssh, `*` and `?` in the last path part, sorted as ssh does. */
async function includedFiles(pattern: string): Promise<string[]> {
  const path = pattern.replace(/^~(?=\/)/, homedir());
  const full = isAbsolute(path) ? path : join(homedir(), '.ssh', path);
  if (!/[*?]/.test(basename(full))) return [full];
  const re = new RegExp(
    `^${basename(full)
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  const names = await readdir(dirname(full)).catch(() => [] as string[]);
  return names
    .filter((n) => re.test(n))
    .sort()
    .map((n) => join(dirname(full), n));
}

/** The config's text with every Include line replaced by the files it names (a missing file is skipped, as ssh does). */
async function expandIncludes(text: string, depth = 0): Promise<string> {
  if (depth > MAX_INCLUDE_DEPTH) throw new Error('ssh config: Include nested too deeply (a loop?)');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const include = /^\s*include\s*[=\s]\s*(.+?)\s*$/i.exec(line);
    if (!include) {
      out.push(line);
      continue;
    }
    for (const pattern of include[1].split(/\s+/)) {
      for (const file of await includedFiles(pattern.replace(/^"(.*)"$/, '$1'))) {
        const included = await readFile(file, 'utf8').catch(() => undefined);
        if (included !== undefined) out.push(await expandIncludes(included, depth + 1));
      }
    }
  }
  return out.join('\n');
}

async function loadConfig(path: string): Promise<SSHConfig> {
  try {
    return SSHConfig.parse(await expandIncludes(await readFile(path, 'utf8')));
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
  const identities = (Array.isArray(identityValue) ? identityValue : identityValue ? [identityValue] : []).map((p) =>
    expandPath(p, vars),
  );
  const knownHostsFiles = (one('UserKnownHostsFile') ?? '~/.ssh/known_hosts ~/.ssh/known_hosts2')
    .split(/\s+/)
    .filter(Boolean)
    .map((p) => expandPath(p, vars));
  knownHostsFiles.push('/etc/ssh/ssh_known_hosts');
  const proxyJump = one('ProxyJump');
  const strict = (one('StrictHostKeyChecking') ?? 'ask').toLowerCase();
  return {
    alias: name,
    hostName,
    port,
    user,
    identityFiles: identities.length ? identities : DEFAULT_IDENTITIES.map((f) => join(homedir(), '.ssh', f)),
    identitiesOnly: one('IdentitiesOnly')?.toLowerCase() === 'yes',
    knownHostsFiles,
    proxyJump:
      proxyJump && proxyJump.toLowerCase() !== 'none'
        ? proxyJump
            .split(',')
            .map((h) => h.trim())
            .filter(Boolean)
        : undefined,
    hostKeyAlias: one('HostKeyAlias')?.toLowerCase(), // ssh lowercases it too (ssh -G shows it)
    strictHostKeyChecking:
      strict === 'yes' || strict === 'accept-new' ? strict : strict === 'no' || strict === 'off' ? 'no' : 'ask',
  };
}
