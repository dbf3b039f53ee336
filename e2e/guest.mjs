// The lab guest tiny1's own web pages, read from the client namespace (as the e2e runner and the UI test use them).
import { spawn, spawnSync } from 'node:child_process';

/** GET /cgi-bin/<page> on the guest at `ip`: its status ("… filled=MB verify_errors=N …") or its dirtier's controls. */
export const guestPageAt = (lab, ip, page) =>
  spawnSync(
    'ip',
    ['netns', 'exec', lab.clientNetns, 'timeout', '5', 'busybox', 'wget', '-qO-', `http://${ip}/cgi-bin/${page}`],
    {
      encoding: 'utf8',
    },
  ).stdout ?? '';

/** the same on tiny1 */
export const guestPage = (lab, page) => guestPageAt(lab, lab.guests.tiny1.ip, page);

/**
 * Until the status page of the guest at `ip` holds `text`. The guest has no way to tell us but that page, so this
 * polls it; a guest that never says it fails after 60 s.
 */
export async function untilGuestSays(lab, ip, text, what) {
  for (const end = Date.now() + 60_000; !guestPageAt(lab, ip, 'status').includes(text);) {
    if (Date.now() > end) throw new Error(`the guest at ${ip} did not ${what}: ${guestPageAt(lab, ip, 'status')}`);
    await new Promise((r) => setTimeout(r, 200)); // the poll interval of that wait
  }
}

/** Set a guest's memory dirtier going (`mb`, `rate`; tiny1 unless `ip`) and wait until it has written all once. */
export async function guestFilled(lab, mb, rate, ip = lab.guests.tiny1.ip) {
  guestPageAt(lab, ip, `dirty?mb=${mb}&rate=${rate}`);
  await untilGuestSays(lab, ip, ` filled=${mb} `, `fill ${mb} MiB`);
}

/** A TCP stream into tiny1's echo server from the client namespace for `seconds` (lab/tools/stream.py): traffic to watch. */
export function streamIntoGuest(lab, seconds) {
  const script = new URL('../lab/tools/stream.py', import.meta.url).pathname;
  return spawn(
    'ip',
    ['netns', 'exec', lab.clientNetns, 'python3', script, lab.guests.tiny1.ip, '7000', String(seconds), '1'],
    { stdio: 'ignore' },
  );
}

/** Clear tiny1's live interface limits on its host as root (the clean-up after a UI test that set them). */
export function clearGuestLimits(lab, mac) {
  spawnSync(
    'ssh',
    [
      '-F',
      lab.rootSshConfig,
      '-o',
      'BatchMode=yes',
      lab.guests.tiny1.host,
      `virsh -q domiftune tiny1 ${mac} --live --inbound 0 --outbound 0`,
    ],
    { encoding: 'utf8' },
  );
}

/** A shell command on a lab host as root (the tests' "other shell"); its output. */
export function onLabHost(lab, alias, command) {
  const r = spawnSync('ssh', ['-F', lab.rootSshConfig, '-o', 'BatchMode=yes', alias, command], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${alias}: ${command}: ${r.stderr}`);
  return r.stdout;
}
