#!/usr/bin/env node
// Stand-in for a VS Code desktop executable, for @vscode/test-electron's runTests({ vscodeExecutablePath }): VS Code
// desktop cannot be downloaded on these machines. It takes the arguments test-electron passes
// (--extensionDevelopmentPath=, --extensionTestsPath=, a folder; desktop-only flags are ignored), starts a throwaway
// code-server with the smoke-test driver (without it the workbench ignores the test payload), opens the workbench in
// Debian's Chromium with that payload, prints the extension host's console and exits with the test run's exit code.
// Environment: FERRY_LAB_JSON (the lab: Ferry's settings point at it), FERRY_E2E_RUN (run dir), TIMEOUT_MS.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { format } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, freePort, logIn, prepareRunDir, startCodeServer } from './codeServer.mjs';

const args = process.argv.slice(2);
const developmentPaths = [];
const folders = [];
let testsPath;
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  const eq = arg.indexOf('=');
  const [key, value] = arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
  if (key === '--extensionDevelopmentPath') developmentPaths.push(resolve(value ?? args[++i]));
  else if (key === '--extensionTestsPath') testsPath = resolve(value ?? args[++i]);
  else if (!arg.startsWith('-')) folders.push(resolve(arg));
}
if (!testsPath) {
  console.error('code-shim: no --extensionTestsPath given');
  process.exit(2);
}
const lab = JSON.parse(process.env.FERRY_LAB_JSON ?? 'null');
if (!lab) {
  console.error('code-shim: FERRY_LAB_JSON is not set (the lab description the tests run against)');
  process.exit(2);
}
const run = process.env.FERRY_E2E_RUN ?? mkdtempSync(join(tmpdir(), 'ferry-shim-'));
prepareRunDir(run, lab);
const server = await startCodeServer(run, await freePort(), ['--vscode-option', 'enable-smoke-test-driver']);
process.on('exit', server.stop);
const remote = (path) => `vscode-remote://127.0.0.1:${server.port}${path}`;
const payload = [
  ...developmentPaths.map((p) => ['extensionDevelopmentPath', remote(p)]),
  ['extensionTestsPath', remote(testsPath)],
  ['skipWelcome', 'true'],
];
const folder = folders[0] ?? join(run, 'ws');

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: CHROMIUM_ARGS,
  env: { ...process.env, HOME: join(run, 'home') },
});
const page = await browser.newPage();
// extension-host console output arrives as workbench log lines; drop the offline machine's known noise
const NOISE =
  /^\[(ChatModelSelection|AgentHost|AccountPolicyGate|reconnection-grace-time|Service Worker)|^(Resolving connection token|Resolved connection token|Creating a socket|Updating additional builtin)|ENOTFOUND|^Canceled: Canceled|^\[Extension Host\] Ferry activated/;
await page.exposeFunction('codeAutomationLog', (type, logged) => {
  const line = format(...logged);
  if (!NOISE.test(line)) (type === 'error' ? console.error : console.log)(line);
});
const exited = new Promise((done) => page.exposeFunction('codeAutomationExit', (code) => done(code)));
await logIn(page, server.port, server.password);
await page.goto(
  `http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`,
);
// a guard against a workbench that never starts the tests, not a wait for anything
const limit = Number(process.env.TIMEOUT_MS ?? 240000);
const code = await Promise.race([exited, new Promise((done) => setTimeout(() => done('timeout'), limit))]);
if (code === 'timeout')
  console.error(`code-shim: no result within ${limit} ms (logs in ${run})\nexthost: 0 passed, 1 failed`);
await browser.close();
server.stop();
process.exit(code === 'timeout' ? 124 : code);
