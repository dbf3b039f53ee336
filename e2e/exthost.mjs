// The extension-host tests (test/exthost, Mocha, the real `vscode` API) through @vscode/test-electron's runTests,
// pointed at e2e/code-shim.mjs instead of a downloaded VS Code desktop (none can be downloaded here).
// usage: node e2e/exthost.mjs RUN_DIR LAB_JSON      (lab up, e2e/setup-tools.sh done, build:tests done)
import { runTests } from '@vscode/test-electron';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [run, labJson] = process.argv.slice(2);
console.log('[e2e] extension-host tests through @vscode/test-electron runTests');
try {
  await runTests({
    vscodeExecutablePath: join(repo, 'e2e', 'code-shim.mjs'),
    extensionDevelopmentPath: repo,
    extensionTestsPath: join(repo, 'out', 'test', 'exthost', 'index.js'),
    launchArgs: [join(run, 'ws')],
    // reaches the shim, and through code-server the extension host
    extensionTestsEnv: { FERRY_LAB_JSON: readFileSync(labJson, 'utf8'), FERRY_E2E_RUN: run },
  });
} catch (e) {
  console.error(`exthost: ${/** @type {Error} */ (e).message ?? e}`);
  process.exit(1);
}
