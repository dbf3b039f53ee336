/**
 * The reads of "Why is it slow?" and of the zero-copy preflight (scripts/diagnosis-probe.sh, qemu-limits.sh); the
 * findings are core/diagnosis.
 *
 * Both first set `pid` to the QEMU process of the domain whose UUID is `$uuid`, or to '' (the same block in both
 * files; a unit test keeps them equal) — from libvirt's own record of it, never from a name or a command line: each
 * `$dir`/*.xml is a `<domstatus … pid='N'>` around the live `<domain>`, whose first `<uuid>` must equal `$uuid`
 * exactly (libvirt escapes `<` in every value, so no name or attribute fakes an element; anything raw like
 * `<metadata>` comes after the uuid). The directory is root's (/run/libvirt/qemu). Files are opened with getline, so
 * one that vanishes while it is read (a domain stopping) is skipped, not fatal as a missing input file is to mawk.
 * The pid is then checked, never found, by the command line: it must carry `-uuid` and `$uuid` as two whole
 * arguments, or a stale status file naming a reused pid would give some other process. Any process can SAY
 * `-uuid <ours>`, which is why this check is no way to find QEMU.
 */
import type { Argv } from '../core/virsh';
import { assertUuid } from '../core/virsh';
import PROBE from './scripts/diagnosis-probe.sh';
import QEMU_LIMITS from './scripts/qemu-limits.sh';

/**
 * The probe's command for the domain with this UUID (libvirt writes UUIDs in lower case, the probe compares exactly):
 * $1 the UUID, $2 libvirt URI, $3 the peer to route towards (empty on the target), $4 the directory of libvirt's
 * status files (tests only; empty: the system's), $5 the QEMU's PID when Ferry knows it from elsewhere (a KubeVirt
 * pod's, from the node scan), checked by its command line all the same.
 *
 * A thread's ticks are utime + stime from /proc/<pid>/task/<tid>/stat. comm sits in parentheses and may hold spaces,
 * ')' and even a newline, so a stat file is read whole and split after its LAST ')': then utime and stime are the
 * 12th and 13th fields (14 and 15 of the full line). Control characters in a name become spaces (one line per
 * thread). All threads are read by one awk each time, with getline, so a thread that ends meanwhile is skipped.
 */
export function probeArgv(uuid: string, uri: string, peer: string, statusDir?: string, qemuPid?: number): Argv {
  assertUuid(uuid);
  return [
    'sh',
    '-c',
    PROBE,
    'ferry-probe',
    uuid.toLowerCase(),
    uri,
    peer,
    ...(statusDir === undefined && qemuPid === undefined ? [] : [statusDir ?? '']),
    ...(qemuPid === undefined ? [] : [String(qemuPid)]),
  ];
}

/**
 * The preflight's read of the domain's QEMU before a zero-copy migration: its `CapEff:` line and its `Max locked memory`
 * line, nothing when libvirt has no running QEMU for the UUID. $1 the UUID, $2 the status directory (tests only).
 */
export function qemuLimitsArgv(uuid: string, statusDir?: string): Argv {
  assertUuid(uuid);
  return ['sh', '-c', QEMU_LIMITS, 'ferry-check', uuid.toLowerCase(), ...(statusDir === undefined ? [] : [statusDir])];
}
