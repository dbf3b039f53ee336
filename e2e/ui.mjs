// UI test of Ferry in real VS Code (code-server) driven by Debian's Chromium: the tree shows the lab's hosts and
// domains, a context-menu action and a palette command act on the hostile-named domain. Screenshots in SHOTDIR.
// usage: node e2e/ui.mjs URL SHOTDIR LAB_JSON
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHROMIUM_ARGS } from './codeServer.mjs';

const [url, shots, labJson] = process.argv.slice(2);
const lab = JSON.parse(readFileSync(labJson, 'utf8'));
const hostile = lab.hostileDomain.name;
mkdirSync(shots, { recursive: true });
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
let passed = 0;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
const page = await (await browser.newContext({ viewport: { width: 1400, height: 860 } })).newPage();
page.on('pageerror', (e) => console.log('[pageerror]', e.message));
const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`) });
async function step(name, fn) {
  const t = Date.now();
  try {
    await fn();
  } catch (e) {
    await shot(`FAIL-${name}`).catch(() => {});
    console.log(`FAIL ${name}: ${e.message}`);
    console.log(`ui: ${passed} passed, 1 failed`);
    await browser.close();
    process.exit(1);
  }
  passed++;
  console.log(`ok ${name} (${Date.now() - t} ms)`);
}
const treeItem = (name) => page.getByRole('treeitem', { name });
const domainItem = (domain, state) => treeItem(new RegExp(`^${escapeRe(domain)}, ${state}`));
async function palette(command) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor();
  await input.fill(`>${command}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: command.replace(/^Ferry: /, '') }).first().waitFor();
  await input.press('Enter');
}

await step('workbench-and-ferry-view', async () => {
  await page.goto(url);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
  const ferry = page.locator('.activitybar a[aria-label^="Ferry"], .activitybar li[aria-label^="Ferry"]').first();
  await ferry.waitFor({ timeout: 60000 });
  await ferry.click();
});

await step('tree-shows-lab-hosts-and-domains', async () => {
  for (const h of lab.hosts) await treeItem(new RegExp(`^${h.alias} — `)).waitFor({ timeout: 30000 });
  await domainItem('tiny1', 'running').waitFor({ timeout: 30000 });
  await domainItem(hostile, 'shut off').waitFor();
  await shot('01-tree');
});

await step('context-menu-start-hostile-domain', async () => {
  await domainItem(hostile, 'shut off').click({ button: 'right' });
  const item = page.locator('.monaco-menu .action-item', { hasText: 'Start Domain' });
  await item.waitFor();
  await page.waitForTimeout(300); // VS Code ignores a click that lands right after the menu opens
  await shot('02-context-menu');
  await item.click();
  await domainItem(hostile, 'running').waitFor({ timeout: 30000 });
  await shot('03-started');
});

await step('palette-force-off-with-confirmation', async () => {
  await palette('Ferry: Force Off Domain');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.fill('evil');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'evil' }).first().waitFor();
  await shot('04-palette-domain-picker');
  await input.press('Enter');
  const confirm = page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Force Off' });
  await confirm.waitFor();
  await shot('05-force-off-confirmation');
  await confirm.click();
  await domainItem(hostile, 'shut off').waitFor({ timeout: 30000 });
});

await step('context-menu-migrate-with-progress', async () => {
  // the guest holds 300 MiB (filled by e2e/run.sh); a 40 MiB/s cap makes the migration last several seconds
  await domainItem('tiny1', 'running').click({ button: 'right' });
  const item = page.locator('.monaco-menu .action-item', { hasText: 'Migrate Domain…' });
  await item.waitFor();
  await page.waitForTimeout(300);
  await item.click();
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: lab.hosts[1].alias }).first().waitFor();
  await shot('07-migrate-target');
  await input.fill(lab.hosts[1].alias);
  await input.press('Enter');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Custom' }).first().waitFor();
  await shot('08-migrate-profile');
  await input.fill('Custom');
  await input.press('Enter');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Peer-to-peer' }).first().waitFor();
  await input.press('Enter');                                   // keep the checked flags (p2p)
  await page.locator('.quick-input-widget', { hasText: 'Parallel connections' }).waitFor();
  await input.press('Enter');                                   // a single stream
  await page.locator('.quick-input-widget', { hasText: 'Bandwidth limit' }).waitFor();
  await input.fill('40');
  await input.press('Enter');
  await page.locator('.quick-input-widget', { hasText: 'Max downtime' }).waitFor();
  await input.press('Enter');
  await page.locator('.notification-toast', { hasText: `Migrating tiny1 ${lab.hosts[0].alias} → ${lab.hosts[1].alias}` }).waitFor({ timeout: 30000 });
  await page.locator('.notification-toast', { hasText: 'iteration' }).waitFor({ timeout: 20000 });
  await treeItem(/^tiny1, migrating to /).waitFor({ timeout: 10000 });
  await shot('09-migration-progress');
  await page.locator('.notification-toast.notification-fade-in-done', { hasText: 'completed' }).waitFor({ timeout: 60000 });
  await shot('10-migration-completed');
  const onB = page.getByRole('treeitem', { name: new RegExp(`^tiny1, running.*on ${lab.hosts[1].alias}$`) });
  await onB.waitFor({ timeout: 20000 });
});

await step('palette-migrate-back-safe-profile', async () => {
  await palette('Ferry: Migrate Domain…');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'tiny1' }).first().waitFor();
  await input.fill('tiny1');
  await input.press('Enter');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: lab.hosts[0].alias }).first().waitFor();
  await input.fill(lab.hosts[0].alias);
  await input.press('Enter');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Safe' }).first().waitFor();
  await input.fill('Safe');
  await input.press('Enter');
  await page.getByRole('treeitem', { name: new RegExp(`^tiny1, running.*on ${lab.hosts[0].alias}$`) }).waitFor({ timeout: 60000 });
});

await step('log-channel-records-remote-commands', async () => {
  await palette('Ferry: Show Log');
  await page.locator('.output-view, .part.panel').locator('text=migration: versions:').first().waitFor({ timeout: 20000 });
  await shot('06-log');
});

await browser.close();
console.log(`ui: ${passed} passed, 0 failed`);
