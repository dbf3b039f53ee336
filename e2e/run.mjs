// Real-VS-Code tests against the lab: (1) the UI test of the packaged .vsix (Playwright), (2) Mocha tests in the
// real extension host through @vscode/test-electron. Each on its own throwaway code-server: the smoke-test driver
// the second needs hides toasts.
// usage: node e2e/run.mjs RUN_DIR SHOT_DIR      (lab up, e2e/setup-tools.sh done, build:tests and package done)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, installExtension, prepareRunDir, startCodeServer } from './codeServer.mjs';
import { guestFilled } from './guest.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [run, shots] = process.argv.slice(2);
const labJson = join(process.env.LAB ?? '/var/lib/ferry-lab', 'lab.json');
const lab = JSON.parse(readFileSync(labJson, 'utf8'));
const onHost = (alias, command) =>
  spawnSync('ssh', ['-F', lab.rootSshConfig, '-o', 'BatchMode=yes', alias, command], { encoding: 'utf8' });

// the state the UI test starts from: the hostile-named domain shut off (a failed earlier run may have left it up)
onHost(
  lab.hostileDomain.host,
  "virsh -q list --uuid --name | awk '/ evil /{print $1}' | xargs -r -n1 virsh -q destroy",
);
/** tiny1 running on hostA, as both suites expect: a suite that failed mid-migration may have left it elsewhere */
function tiny1Home() {
  const [a, b] = lab.hosts;
  const runsOn = (h) => onHost(h.alias, 'virsh -q list --name').stdout.split('\n').includes('tiny1');
  for (const h of [a, b]) onHost(h.alias, 'virsh -q domjobabort tiny1 >/dev/null 2>&1; true');
  if (runsOn(b)) onHost(b.alias, `virsh -q migrate --live --p2p tiny1 'qemu+ssh://root@${a.address}/system?no_tty=1'`);
  if (!runsOn(a)) onHost(a.alias, 'virsh -q start tiny1');
  if (!runsOn(a)) throw new Error('tiny1 cannot be brought back to run on hostA; see the lab (npm run lab -- status)');
}
tiny1Home();
// 300 MiB of the guest's memory filled, so the UI test's throttled migration lasts long enough to watch
await guestFilled(lab, 300, 'idle');

prepareRunDir(join(run, 'ui'), lab);
await installExtension(join(run, 'ui'), join(repo, 'dist', 'ferry.vsix'));
const server = await startCodeServer(join(run, 'ui'), await freePort());
// the password through the environment: another local user can read a process's arguments, not its environment
const ui =
  spawnSync('node', [join(repo, 'e2e', 'ui.mjs'), server.url, shots, labJson], {
    stdio: 'inherit',
    env: { ...process.env, FERRY_CODE_SERVER_PASSWORD: server.password },
  }).status ?? 1;
server.stop();

tiny1Home();
const ext =
  spawnSync('node', [join(repo, 'e2e', 'exthost.mjs'), join(run, 'exthost'), labJson], { stdio: 'inherit' }).status ??
  1;
process.exit(ui || ext);
