#!/usr/bin/env bash
# npm run demo: the lab, then VS Code (code-server) with Ferry installed and configured for the lab's hosts.
# Prints the URL to open; Ctrl-C stops VS Code (the lab stays up: npm run lab -- down).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
LAB=${LAB:-/var/lib/ferry-lab}
PORT=${FERRY_DEMO_PORT:-8080}
RUN=${FERRY_DEMO_DIR:-$HOME/.cache/ferry-demo}
bash scripts/setup.sh
bash lab/lab.sh up
# a KubeVirt-like node too: hostB runs a VM in a virt-launcher pod (npm run lab -- kubevirt migrate shop checkout B C
# moves it as KubeVirt would, for Ferry to follow)
bash lab/lab.sh kubevirt list | grep -q ' shop/checkout ' || bash lab/lab.sh kubevirt pod B shop checkout --octet 117
npm run -s build && npm run -s package
rm -rf "$RUN"
# shellcheck disable=SC2174 # only $RUN itself must be private; its parents exist
mkdir -p -m 700 "$RUN"
exec node --input-type=module -e "
import { prepareRunDir, installExtension, startCodeServer } from '$REPO/e2e/codeServer.mjs';
import { readFileSync } from 'node:fs';
const lab = JSON.parse(readFileSync('$LAB/lab.json', 'utf8'));
prepareRunDir('$RUN', lab);
await installExtension('$RUN', '$REPO/dist/ferry.vsix');
// VS Code runs as root with a terminal: only who has the password it made (shown here once) gets in
const server = await startCodeServer('$RUN', $PORT);
console.log('');
console.log('Ferry demo is up. Open in a browser on this machine:');
console.log('  ' + server.url);
console.log('  password: ' + server.password);
console.log('Hosts: ' + lab.hosts.map((h) => h.alias + ' (' + h.address + ')').join(', ') + '; ssh config ' + lab.sshConfig);
console.log('Guest tiny1 runs on ' + lab.guests.tiny1.host + ' at ' + lab.guests.tiny1.ip + '. Ctrl-C stops VS Code; npm run lab -- down stops the lab.');
console.log('KubeVirt VM shop/checkout runs in a pod on hostB; npm run lab -- kubevirt migrate shop checkout B C moves it as KubeVirt would.');
const stop = () => { server.stop(); process.exit(0); };
process.on('SIGINT', stop); process.on('SIGTERM', stop);
setInterval(() => {}, 1 << 30);
"
