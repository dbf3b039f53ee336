/**
 * The conntrack scripts a host runs (scripts/conntrack-*.sh); the flows' model and parsers are core/conntrack.
 * Addresses are data: validated and canonical (assertAddress), passed as arguments, never in the script.
 * Each listing turns the address arguments into grep patterns and defines `list` with the same first line.
 */
import { assertAddress, ipv6Words, KERNEL_TABLE } from '../core/conntrack';
import type { Argv } from '../core/virsh';
import GATE from './scripts/conntrack-gate.sh';
import LIST_DIGEST from './scripts/conntrack-list-digest.sh';
import LIST from './scripts/conntrack-list.sh';
import LOAD_DIGEST from './scripts/conntrack-load-digest.sh';
import LOAD from './scripts/conntrack-load.sh';

/**
 * One scan of the table for all addresses: `conntrack -L` dumps the whole table whatever its filter, so listing each
 * address as source and as destination would scan it twice per address. The host keeps the lines that name an
 * address as a tuple's src or dst (grep -F on "src=ADDR " / "dst=ADDR "), which also keeps flows NATed to it.
 * grep finding nothing (exit 1) is an empty listing, not a failure.
 */
export function exportArgv(addresses: readonly string[]): Argv {
  return ['sh', '-c', LIST, 'ferry-conntrack', ...addresses.map(assertAddress)];
}

/**
 * The switchover gate's listing, in one process on the source. It follows the table's events (`conntrack -E`) from
 * before it lists the flows at once (the bulk copy, printed and kept in awk's memory, never on disk), prints
 * SNAPSHOT_END and waits for "go" on stdin. Meanwhile awk keeps the latest event of each of the VM's flows. At the
 * go it makes a flow of its own and waits for that flow's event (then every earlier event has been read), and prints
 * only the flows whose state an event changed since the listing: no second listing of the whole table in the guest's
 * pause. If the kernel dropped events (ENOBUFS), the event reader died, or that event is not read within a second, it
 * lists again instead and prints what is new or changed (a flow's line without its countdown timer differs). Either
 * way its first line after SNAPSHOT_END names the path: `ferry-path events` or `ferry-path relisted-<why>`. End of
 * stdin instead of "go" ends it. No process is started between the go and its answer: those it needs then wait
 * from the start. (awk's pats: the grep arguments, "-e" and "src=ADDR " / "dst=ADDR " in turn. A flow's key is its
 * protocol and original tuple; its line without the timer ($5) is what the listing saw.)
 */
export function snapshotThenChangesArgv(addresses: readonly string[]): Argv {
  return ['sh', '-c', GATE, 'ferry-conntrack-gate', ...addresses.map(assertAddress)];
}

/**
 * The source's side of a streamed sync: the listing of exportArgv on stdout as it comes, then LISTED_MARK (the
 * target's load can end), and after it, on stderr, the md5 of its flows' digest lines (sorted, unique), worked out
 * on the host as the lines pass. A flow as the digest sees it: its `-o extended` line without what changes by
 * itself (the timer, the reference count, packet and byte counters), fields one space apart; an IPv6 address written
 * out whole (as the kernel's table writes it) written as inet_ntop writes it (awk's v6()), zone=0 left out.
 */
export function listAndDigestArgv(addresses: readonly string[]): Argv {
  return ['sh', '-c', LIST_DIGEST, 'ferry-conntrack-export', ...addresses.map(assertAddress)];
}

/**
 * The target's side of a streamed sync, one process: load the `-A` lines arriving on stdin as they come, print
 * LOADED_MARK, then (unless verify is off) the md5 of the VM's flows as the host now holds them, each as its digest
 * line, sorted and unique. Equal to the digest of the flows sent, it proves every one is there as it was listed (mark
 * and state included), without bringing the listing back. The kernel's table writes IPv6 addresses out whole: those
 * forms are looked for too.
 */
export function loadAndDigestArgv(addresses: readonly string[], verify: boolean, kernelTable = KERNEL_TABLE): Argv {
  const canonical = addresses.map(assertAddress);
  const whole = canonical
    .filter((a) => a.includes(':'))
    .map((a) =>
      ipv6Words(a)
        .map((w) => w.toString(16).padStart(4, '0'))
        .join(':'),
    );
  return ['sh', '-c', verify ? LOAD_DIGEST : LOAD, 'ferry-conntrack-load', kernelTable, ...canonical, ...whole];
}
