// Run the Mocha tests in test/exthost inside code-server's real extension host, through the web workbench.
// The server must run with `--vscode-option enable-smoke-test-driver`, else the URL payload is ignored.
// usage: node e2e/exthost.mjs BASE_URL EXTENSION_DIR TESTS_ENTRY WORKSPACE
import { chromium } from 'playwright-core';
import { format } from 'node:util';
import { CHROMIUM_ARGS } from './codeServer.mjs';

const [base, extDev, tests, ws] = process.argv.slice(2);
const host = new URL(base).host;
const remote = (p) => `vscode-remote://${host}${p}`;
const payload = [['extensionDevelopmentPath', remote(extDev)], ['extensionTestsPath', remote(tests)], ['skipWelcome', 'true']];
const url = `${base}?folder=${encodeURIComponent(ws)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
const page = await browser.newPage();
// extension-host console output arrives as workbench log lines; drop the offline machine's known noise
const NOISE = /^\[(ChatModelSelection|AgentHost|AccountPolicyGate|reconnection-grace-time|Service Worker)|^(Resolving connection token|Resolved connection token|Creating a socket|Updating additional builtin)|ENOTFOUND|^Canceled: Canceled|^\[Extension Host\] Ferry activated/;
await page.exposeFunction('codeAutomationLog', (type, args) => {
  const line = format(...args);
  if (!NOISE.test(line)) (type === 'error' ? console.error : console.log)(line);
});
const exited = new Promise((resolve) => page.exposeFunction('codeAutomationExit', (code) => resolve(code)));
await page.goto(url);
const limit = Number(process.env.TIMEOUT_MS ?? 240000);
const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), limit))]);
if (code === 'timeout') console.error(`exthost: no result within ${limit} ms\nexthost: 0 passed, 1 failed`);
await browser.close();
process.exit(code === 'timeout' ? 124 : code);
