/**
 * The QEMU probe on a lab host, against what a tenant can do there (project issue 19, item 3): a process of nobody's
 * that looks like the QEMU of another domain (argv[0] …/qemu-system-x86_64, `-uuid <victim>`) is never run by it,
 * and a domain whose name holds "\n-uuid\n<victim uuid>" does not take the victim's stale flag, nor give it its own.
 * The victim runs a QEMU replaced on disk (a new copy of the binary bind-mounted over its path, as in
 * qemuUpgrade.test.ts); the tenant's QEMU starts after that, so it runs the new file.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIBVIRT_URI } from '../../src/core/virsh';
import { HostRegistry } from '../../src/services/hostRegistry';
import { QemuBinaries } from '../../src/services/qemuBinaries';
import { lab, memoryLogger, onHost, scratchDomainXml, waitFor } from './lab';

const A = lab.hosts[0].alias;
// a prefix of its own per run: libvirt 9.0 keeps a CR name it renamed taken until libvirtd restarts (hostileNames)
const stamp = Date.now().toString(36);
const victim = { name: `fp-${stamp}-victim`, uuid: randomUUID() };
// libvirt refuses LF in a name; it keeps a CR raw and reads it back as LF once the domain has stopped, so the
// tenant's QEMU started a second time carries `-name guest=…\n-uuid\n<victim uuid>\n,…`
const tenant = { defined: `fp-${stamp}\r-uuid\r${victim.uuid}\r`, uuid: randomUUID() };
const work = `/tmp/ferry-qemu-probe-${stamp}`;
const marker = `${work}/ran`;
const evil = `${work}/qemu-system-x86_64`;
const log = memoryLogger();

const define = (uuid: string, name: string) =>
  onHost(
    A,
    `f=$(mktemp); printf %s '${Buffer.from(scratchDomainXml(uuid, name)).toString('base64')}' | base64 -d > "$f" && virsh -q define "$f" >/dev/null; r=$?; rm -f "$f"; exit $r`,
  );
/** the pid libvirt keeps for a running domain (its pid file; the tenant's name is matched by glob, never written) */
const qemuPid = (glob: string) => Number(onHost(A, `cat /run/libvirt/qemu/${glob}.pid`).trim());

let registry: HostRegistry;
let qemu: QemuBinaries;
let binary = '';
let evilPid = 0;
let victimPid = 0;
let tenantPid = 0;

beforeAll(async () => {
  // nobody's "QEMU": a script that leaves a marker if anyone ever runs it
  onHost(
    A,
    `mkdir -p '${work}' && chmod 755 '${work}' && printf '#!/bin/sh\\ntouch %s\\n' '${marker}' > '${evil}' && chmod 755 '${evil}' && chown 65534:65534 '${evil}'`,
  );
  define(victim.uuid, victim.name);
  onHost(A, `virsh -q start ${victim.uuid} >/dev/null`);
  victimPid = qemuPid(victim.name);
  registry = new HostRegistry(
    {
      connection: { connectTimeoutMs: 5000, keepaliveIntervalMs: 1000 },
      settings: { sshConfigPath: lab.sshConfig, libvirtUri: DEFAULT_LIBVIRT_URI },
    },
    log,
  );
  registry.setHosts([A]);
  await waitFor(
    'the victim running in the inventory',
    () => registry.get(A)!.domains?.find((d) => d.uuid === victim.uuid)?.state === 'running',
    20_000,
  );
  qemu = new QemuBinaries(registry, log);
  await qemu.probe(A);
  const before = qemu.state(A, victim.uuid);
  expect(before, qemu.unknownReason(A, victim.uuid)).toMatchObject({
    pid: victimPid,
    emulator: '/usr/bin/qemu-system-x86_64',
    replaced: false,
  });
  // the lab's emulator is a wrapper script; the file its QEMU runs is what an upgrade replaces
  binary = before!.binary;
  expect(binary).toMatch(/^\/.*qemu-system-x86_64$/);
  onHost(A, `cp -p '${binary}' '${work}/qemu-upgraded' && mount --bind '${work}/qemu-upgraded' '${binary}'`);
  // the tenant's domain, started after the upgrade; then started again under the LF name
  define(tenant.uuid, tenant.defined);
  onHost(
    A,
    `virsh -q start ${tenant.uuid} >/dev/null && virsh -q destroy ${tenant.uuid} >/dev/null && virsh -q start ${tenant.uuid} >/dev/null`,
  );
  tenantPid = qemuPid(`fp-${stamp}?-uuid?*`);
  // the staging holds: the tenant's command line has a line "-uuid" followed by the victim's UUID
  expect(onHost(A, `tr '\\0' '\\n' < /proc/${tenantPid}/cmdline | grep -A1 -x -- -uuid`)).toContain(
    `-uuid\n${victim.uuid}\n`,
  );
  // nobody's process: argv[0] the marker script, `-uuid <victim>` as two arguments
  evilPid = Number(
    onHost(
      A,
      `cd /; nohup setpriv --reuid=65534 --regid=65534 --clear-groups bash -c 'exec -a "$0" sh -c "sleep 600; :" qemu -uuid "$1"' '${evil}' '${victim.uuid}' </dev/null >/dev/null 2>&1 & echo $!`,
    ).trim(),
  );
  await waitFor(
    "nobody's process to look like the victim's QEMU",
    () =>
      onHost(A, `tr '\\0' ' ' < /proc/${evilPid}/cmdline 2>/dev/null || true`).startsWith(
        `${evil} -c sleep 600; : qemu -uuid ${victim.uuid}`,
      ),
    5000,
  );
  expect(onHost(A, `stat -c %u /proc/${evilPid}`).trim()).toBe('65534');
  await waitFor(
    'the tenant running in the inventory',
    () => registry.get(A)!.domains?.find((d) => d.uuid === tenant.uuid)?.state === 'running',
    20_000,
  );
  await qemu.probe(A);
}, 120_000);

afterAll(() => {
  qemu?.dispose();
  registry?.dispose();
  if (evilPid) onHost(A, `pkill -P ${evilPid}; kill ${evilPid} 2>/dev/null; true`);
  // the LF name's files are removed by hand: undefine misses them (see hostileNames.test.ts)
  onHost(
    A,
    `for u in ${victim.uuid} ${tenant.uuid}; do virsh -q destroy $u >/dev/null 2>&1; virsh -q undefine $u >/dev/null 2>&1; done; rm -f /etc/libvirt/qemu/fp-${stamp}*.xml`,
  );
  if (binary) onHost(A, `while umount -l '${binary}' 2>/dev/null; do :; done; true`);
  onHost(A, `rm -rf '${work}'`);
}, 60_000);

describe('the QEMU probe against a tenant on a lab host', () => {
  it("never runs a process of nobody's that looks like a QEMU, nor credits it to the domain whose UUID it carries", () => {
    expect(onHost(A, `test -e '${marker}' && echo ran || echo never-ran`).trim()).toBe('never-ran');
    expect(onHost(A, `kill -0 ${evilPid} && echo alive`).trim()).toBe('alive'); // it was there to be found
    expect(qemu.state(A, victim.uuid)).toMatchObject({ pid: victimPid });
    expect([qemu.state(A, victim.uuid)?.pid, qemu.state(A, tenant.uuid)?.pid]).not.toContain(evilPid);
  });

  it('a domain whose name holds "\\n-uuid\\n<victim uuid>" moves neither its stale flag nor the victim\'s', () => {
    expect(qemu.state(A, victim.uuid), qemu.unknownReason(A, victim.uuid)).toMatchObject({
      pid: victimPid,
      binary,
      replaced: true,
    });
    expect(qemu.describe(A, victim.uuid)).toMatch(/^runs a replaced QEMU \d+\.\d+\.\d+ binary$/);
    expect(qemu.state(A, tenant.uuid), qemu.unknownReason(A, tenant.uuid)).toMatchObject({
      pid: tenantPid,
      binary,
      replaced: false,
    });
    expect(qemu.describe(A, tenant.uuid)).toBeUndefined();
    expect(qemu.staleOn(A)).toContain(victim.uuid);
    expect(qemu.staleOn(A)).not.toContain(tenant.uuid);
    expect(onHost(A, `test -e '${marker}' && echo ran || echo never-ran`).trim()).toBe('never-ran');
  });
});
