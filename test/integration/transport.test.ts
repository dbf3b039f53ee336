import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HostConnection } from '../../src/transport/hostConnection';
import type { UnknownHostKey } from '../../src/transport/sshError';
import { SshError } from '../../src/transport/sshError';
import { dropLink, lab, labConnection, onHost, waitFor } from './lab';

const hostA = lab.hosts[0];
const hostB = lab.hosts[1];
const opened: HostConnection[] = [];
const track = (c: HostConnection) => (opened.push(c), c);
afterEach(() => opened.splice(0).forEach((c) => c.dispose()));
const madeDirs: string[] = [];
afterAll(() => madeDirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** An ssh config like the lab's, but with its own known_hosts file holding `knownHosts` (and asking about new keys). */
function configWithKnownHosts(
  knownHosts: string,
  strict = 'ask',
  extra = '',
): { config: string; knownHostsFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-kh-'));
  madeDirs.push(dir);
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, knownHosts);
  const config = join(dir, 'ssh_config');
  writeFileSync(
    config,
    (extra + readFileSync(lab.sshConfig, 'utf8'))
      .replaceAll(lab.knownHosts, knownHostsFile)
      .replace(/StrictHostKeyChecking yes/g, `StrictHostKeyChecking ${strict}`),
  );
  return { config, knownHostsFile };
}

const hostPubKey = (letter: string, type = 'ed25519') =>
  readFileSync(join(lab.lab, 'hosts', `host${letter}`, 'ssh', `ssh_host_${type}_key.pub`), 'utf8')
    .split(' ')
    .slice(0, 2)
    .join(' ');
const fingerprintOf = (letter: string) =>
  execFileSync('ssh-keygen', ['-lf', join(lab.lab, 'hosts', `host${letter}`, 'ssh', 'ssh_host_ed25519_key.pub')], {
    encoding: 'utf8',
  }).split(' ')[1];

describe('SSH transport against the lab', () => {
  it('connects to every lab host through its ssh config alias', async () => {
    for (const h of lab.hosts) {
      const conn = track(labConnection(h.alias));
      await conn.connect();
      const r = await conn.exec(['hostname']);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(h.alias);
    }
  });

  it('asks about an unknown host key with its SHA256 fingerprint; declining connects nothing, accepting stores it', async () => {
    const { config, knownHostsFile } = configWithKnownHosts('');
    const asked: UnknownHostKey[] = [];
    const declining = track(
      labConnection(hostA.alias, { confirmHostKey: async (k) => (asked.push(k), false) }, config),
    );
    const declined = await declining.connect().catch((e: unknown) => e);
    expect(declined).toBeInstanceOf(SshError);
    expect((declined as SshError).kind).toBe('hostKeyUnknown');
    expect(asked).toHaveLength(1);
    expect(asked[0].fingerprint).toBe(fingerprintOf(hostA.letter));
    expect(asked[0].knownHostsName).toBe(hostA.address);
    expect(readFileSync(knownHostsFile, 'utf8')).toBe('');

    const accepting = track(labConnection(hostA.alias, { confirmHostKey: async (k) => (asked.push(k), true) }, config));
    await accepting.connect();
    expect((await accepting.exec(['hostname'])).stdout.trim()).toBe(hostA.alias);
    expect(readFileSync(knownHostsFile, 'utf8')).toBe(`${hostA.address} ${hostPubKey(hostA.letter)}\n`);

    const again = track(labConnection(hostA.alias, { confirmHostKey: async () => expect.fail('asked twice') }, config));
    await again.connect();
    expect(asked).toHaveLength(2);
  });

  it('with StrictHostKeyChecking yes, refuses an unknown key without asking, as ssh does', async () => {
    const { config, knownHostsFile } = configWithKnownHosts('', 'yes');
    const conn = track(
      labConnection(
        hostA.alias,
        { confirmHostKey: async () => expect.fail('StrictHostKeyChecking yes must not ask') },
        config,
      ),
    );
    const error = (await conn.connect().catch((e: unknown) => e)) as SshError;
    expect(error.kind).toBe('hostKeyUnknown');
    expect(error.message).toMatch(/StrictHostKeyChecking is yes/);
    expect(readFileSync(knownHostsFile, 'utf8')).toBe('');
  });

  it('asks a host with several keys for the type known_hosts holds (ECDSA here, not its preferred Ed25519)', async () => {
    const { config } = configWithKnownHosts(`${hostA.address} ${hostPubKey(hostA.letter, 'ecdsa')}\n`, 'yes');
    const conn = track(
      labConnection(
        hostA.alias,
        { confirmHostKey: async () => expect.fail('a known key type must not be asked about') },
        config,
      ),
    );
    await conn.connect();
    expect((await conn.exec(['hostname'])).stdout.trim()).toBe(hostA.alias);
  });

  it('goes through every hop of ProxyJump a,b, in order', async () => {
    const [a, b, c] = lab.hosts;
    const { config } = configWithKnownHosts(
      readFileSync(lab.knownHosts, 'utf8'),
      'yes',
      `Host behind-two-hops\n  HostName ${c.address}\n  ProxyJump ${a.alias},${b.alias}\n  User ferry\n  IdentityFile ${lab.identity}\n  UserKnownHostsFile ${lab.knownHosts}\n`,
    );
    const conn = track(labConnection('behind-two-hops', {}, config));
    await conn.connect();
    // hostC sees the connection come from hostB, which was reached through hostA
    const [client] = (await conn.exec(['sh', '-c', 'echo "$SSH_CONNECTION"'])).stdout.trim().split(' ');
    expect(client).toBe(b.address);
  });

  it('refuses a changed host key, naming the known_hosts file and line, without asking', async () => {
    // line 2 claims hostA's address with hostB's key: what a reinstalled (or impersonated) host looks like
    const { config, knownHostsFile } = configWithKnownHosts(
      `# comment\n${hostA.address} ${hostPubKey(hostB.letter)}\n`,
    );
    const conn = track(
      labConnection(
        hostA.alias,
        { confirmHostKey: async () => expect.fail('a changed key must not be offered for trust') },
        config,
      ),
    );
    const error = (await conn.connect().catch((e: unknown) => e)) as SshError;
    expect(error.kind).toBe('hostKeyChanged');
    expect(error.message).toContain(`${knownHostsFile}:2`);
    expect(error.message).toContain(fingerprintOf(hostA.letter));
    expect(conn.state.kind).toBe('failed');
  });

  it('reports authentication failure, refused port and unreachable host as such', async () => {
    const auth = (await track(labConnection(`nobody@${hostA.alias}`))
      .connect()
      .catch((e: unknown) => e)) as SshError;
    expect(auth.kind).toBe('auth');
    const refused = (await track(labConnection(`${hostA.address}:2222`))
      .connect()
      .catch((e: unknown) => e)) as SshError;
    expect(refused.kind).toBe('refused');
    const nobody = `${lab.mgmtNet}.99`;
    const unreachable = (await track(labConnection(nobody, { connectTimeoutMs: 1500 }))
      .connect()
      .catch((e: unknown) => e)) as SshError;
    expect(['timeout', 'unreachable']).toContain(unreachable.kind);
  });

  it('passes hostile arguments through the remote shell untouched', async () => {
    const conn = track(labConnection(hostA.alias));
    await conn.connect();
    const nasty = [
      lab.hostileDomain.name,
      "it's",
      '$HOME',
      '"$(id)"',
      '`id`',
      'a\nb',
      ' lead',
      'ü',
      '*',
      ';',
      '&&',
      '|',
      '-n',
    ];
    const r = await conn.exec(['printf', '%s\\0', ...nasty]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(nasty);
    expect(onHost(hostA.alias, 'ls /root/ferry-pwned /root/ferry-pwned2 2>&1 || true')).toMatch(
      /No such file.*\n.*No such file/,
    );
  });

  it('cancels and times out remote commands, ending the remote process', async () => {
    const conn = track(labConnection(hostA.alias));
    await conn.connect();
    const marker = `ferry-cancel-${process.pid}`;
    const abort = new AbortController();
    const running = () => onHost(hostA.alias, `pgrep -f '[${marker[0]}]${marker.slice(1)}' || true`).trim();
    const execution = conn
      .exec(['bash', '-c', `exec -a ${marker} sleep 30`], { signal: abort.signal })
      .catch((e: unknown) => e);
    await waitFor('the remote process to run', running, 10_000);
    abort.abort();
    const cancelled = (await execution) as SshError;
    expect(cancelled.kind).toBe('cancelled');
    const timedOut = (await conn.exec(['sleep', '5'], { timeoutMs: 300 }).catch((e: unknown) => e)) as SshError;
    expect(timedOut.kind).toBe('timeout');
    await waitFor('the cancelled remote process to end', () => !running(), 10_000);
  });

  it('stops a command that prints more than it may, and drops a line too long to hold, keeping the next', async () => {
    const conn = track(labConnection(hostA.alias));
    await conn.connect();
    const flood = (await conn.exec(['sh', '-c', 'head -c 80000000 /dev/zero']).catch((e: unknown) => e)) as SshError;
    expect(flood.message).toMatch(/printed more than 64 MiB; stopped/);
    const lines: string[] = [];
    const stream = await conn.stream(['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\000" x; echo; echo after'], (l) =>
      lines.push(l),
    );
    await stream.done;
    expect(lines).toEqual(['after']);
  });

  it('reconnects with backoff after the link drops, and says so while it is down', async () => {
    const conn = track(labConnection(hostB.alias, { keepaliveIntervalMs: 300 }));
    await conn.connect();
    let reconnects = 0;
    conn.onDidConnect(() => reconnects++);
    // take hostB's management link down from inside its namespace for 3 s (the command survives the cut)
    await dropLink(hostB.alias, 3);
    await waitFor('the drop to be noticed', () => conn.state.kind === 'failed', 5000);
    expect(conn.state.kind === 'failed' && ['closed', 'timeout'].includes(conn.state.error.kind)).toBe(true);
    await waitFor('the reconnect', () => reconnects > 0 && conn.state.kind === 'connected', 20000);
    expect((await conn.exec(['hostname'])).stdout.trim()).toBe(hostB.alias);
  });

  describe('an encrypted key that is also in ssh-agent', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-agent-'));
    madeDirs.push(dir);
    const plain = join(dir, 'plain');
    const encrypted = join(dir, 'encrypted');
    const authorized = join(lab.lab, 'hosts', `host${hostA.letter}`, 'root-home', '.ssh', 'authorized_keys');
    const config = join(dir, 'ssh_config');
    let agent: ReturnType<typeof spawn> | undefined;
    let authorizedBefore = '';
    const agentSocket = join(dir, 'agent.sock');
    const savedAgent = process.env.SSH_AUTH_SOCK;

    beforeAll(async () => {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ferry-agent-test', '-f', plain]);
      writeFileSync(encrypted, readFileSync(plain));
      execFileSync('chmod', ['600', encrypted]);
      execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'correct horse', '-f', encrypted]);
      authorizedBefore = readFileSync(authorized, 'utf8');
      appendFileSync(authorized, readFileSync(`${plain}.pub`, 'utf8'));
      // the ssh config names only the encrypted file; the agent holds the same key, unlocked
      writeFileSync(
        config,
        `Host ${hostA.alias}\n  HostName ${hostA.address}\n  User root\n  IdentityFile ${encrypted}\n  UserKnownHostsFile ${lab.knownHosts}\n  StrictHostKeyChecking yes\n`,
      );
      agent = spawn('ssh-agent', ['-D', '-a', agentSocket], { stdio: 'ignore' });
      await waitFor('ssh-agent listening', () => existsSync(agentSocket), 10_000);
      execFileSync('ssh-add', ['-q', plain], { env: { ...process.env, SSH_AUTH_SOCK: agentSocket } });
    });
    afterAll(() => {
      writeFileSync(authorized, authorizedBefore);
      agent?.kill();
      process.env.SSH_AUTH_SOCK = savedAgent;
    });

    it('connects through the agent, asking nobody, as an automatic reconnect does', async () => {
      process.env.SSH_AUTH_SOCK = agentSocket;
      const asked: string[] = [];
      const conn = track(
        labConnection(hostA.alias, { askPassphrase: async (f) => (asked.push(f), undefined) }, config),
      );
      await conn.connect(false); // not interactive: the reconnect case
      expect((await conn.exec(['hostname'])).stdout.trim()).toBe(hostA.alias);
      await conn.connect(true);
      expect(asked).toEqual([]);
    });

    it('without the agent, unlocks the key with a remembered passphrase on a reconnect, and says what is missing without one', async () => {
      delete process.env.SSH_AUTH_SOCK;
      const remembered = track(
        labConnection(hostA.alias, { rememberedPassphrase: async () => 'correct horse' }, config),
      );
      await remembered.connect(false);
      expect((await remembered.exec(['hostname'])).stdout.trim()).toBe(hostA.alias);
      const nobody = track(labConnection(hostA.alias, {}, config));
      const failure = (await nobody.connect(false).catch((e: unknown) => e)) as SshError;
      expect(failure.kind).toBe('passphrase');
      expect(failure.message).toContain(`${encrypted} needs a passphrase`);
    });
  });
});
