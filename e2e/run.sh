#!/usr/bin/env bash
# Real-VS-Code tests against the lab: (1) UI test of the packaged .vsix with Playwright, (2) Mocha tests in the
# real extension host. Each on its own throwaway code-server (the smoke-test driver the second needs hides toasts).
# Needs: lab up (lab/lab.sh up), e2e/setup-tools.sh done, npm run build:tests && npm run package.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
LAB=${LAB:-/var/lib/ferry-lab}
RUN=${E2E_RUN:-$(mktemp -d /tmp/ferry-e2e-XXXX)}
SHOTS=${E2E_SHOTS:-$RUN/shots}
echo "[e2e] run dir $RUN, screenshots in $SHOTS"
node --input-type=module -e "
import { prepareRunDir, installExtension, startCodeServer, freePort } from '$REPO/e2e/codeServer.mjs';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
const lab = JSON.parse(readFileSync('$LAB/lab.json', 'utf8'));
const status = (r) => r.status ?? 1;
prepareRunDir('$RUN/ui', lab);
await installExtension('$RUN/ui', '$REPO/dist/ferry.vsix');
let server = await startCodeServer('$RUN/ui', await freePort());
let rc = status(spawnSync('node', ['$REPO/e2e/ui.mjs', server.url, '$SHOTS', '$LAB/lab.json'], { stdio: 'inherit' }));
server.stop();
prepareRunDir('$RUN/exthost', lab);
process.env.FERRY_LAB_JSON = JSON.stringify(lab); // the server's environment reaches the extension host
server = await startCodeServer('$RUN/exthost', await freePort(), ['--vscode-option', 'enable-smoke-test-driver']);
const base = 'http://127.0.0.1:' + server.port + '/';
const ext = status(spawnSync('node', ['$REPO/e2e/exthost.mjs', base, '$REPO', '$REPO/out/test/exthost/index.js', '$RUN/exthost/ws'],
  { stdio: 'inherit' }));
server.stop();
process.exit(rc || ext);
"
