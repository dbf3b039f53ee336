#!/usr/bin/env python3
# bare-migrate.py [--channels 0,1,2,4] [--zero-copy] [--rounds N] [--dirty-rate R] [--downtime-limit MS] [--gap S]:
# what QEMU alone reaches between two lab hosts, with no libvirt: the migration bench's floor. One bare QEMU guest
# (as tiny1: 512 MiB, 1 TCG vCPU, 400 MiB filled, then dirtying R MiB/s) is migrated hostA -> hostB -> hostA ... over
# TCP between the hosts' management addresses with no bandwidth cap (as libvirt sets it), once per channel setting
# per round (0: one stream; N >= 1: multifd with N channels), each time into a new QEMU started with -incoming defer
# on the other host, --gap seconds after the last one ended.
# The gap matters: this lab machine is itself a VM that hands freed memory back to its hypervisor (free page
# reporting, page_reporting.* on its kernel command line). A QEMU started at once on the memory the last one freed
# received 3-5x faster (4 channels: 0.26-0.30 s against 1.0-1.1 s, the receive threads' system time 0.2 s against
# 1.6 s); with 8 s between migrations each was as slow as the first. The libvirt runs are seconds apart, so the floor
# must be too.
# Prints one JSON line per migration: the setting, QEMU's own figures (total/setup/downtime, ram mbps as libvirt
# reports it in memory_bps, transferred), the wall time from starting the incoming QEMU to completion (what libvirt's
# job time also spans), and CPU seconds per QEMU thread on both sides during the migration.
# Everything it starts (the QEMUs, their taps) is ended and removed before it exits.
import argparse, json, os, shutil, signal, subprocess, sys, time

from bareqemu import FILL_MIB, connect_qmp, guest_http, migration_done, qemu_argv, wait_for
from labhost import Host
from threadcpu import ThreadCpu

PORT, NAME = 49700, "bare-migrate"
UNLIMITED_BPS = 8796093022207 << 20   # libvirt's "no cap" (QEMU_DOMAIN_MIG_BANDWIDTH_MAX MiB/s), as it sets it


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--channels", default="0,1,2,4", help="comma-separated: 0 = one stream, N = multifd N channels")
    p.add_argument("--zero-copy", action="store_true", help="multifd settings also with zero-copy-send")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--dirty-rate", default="100", help="MiB/s the guest keeps writing, or 'idle'")
    p.add_argument("--downtime-limit", type=int, default=300, help="ms, QEMU's downtime-limit (its default: 300)")
    p.add_argument("--gap", type=float, default=5, help="seconds between migrations (see above)")
    p.add_argument("--lab", default=os.environ.get("LAB", "/var/lib/ferry-lab"))
    return p.parse_args()


def configure(qmp, channels, zero_copy, downtime_limit):
    caps = [{"capability": "multifd", "state": channels > 0}]
    if zero_copy:
        caps.append({"capability": "zero-copy-send", "state": True})
    qmp.run("migrate-set-capabilities", capabilities=caps)
    # QEMU's own default caps a migration at 128 MiB/s; libvirt lifts it (its "unlimited", in bytes/s)
    params = {"max-bandwidth": UNLIMITED_BPS, "downtime-limit": downtime_limit}
    if channels > 0:
        params["multifd-channels"] = channels
    qmp.run("migrate-set-parameters", **params)


def main():
    # ended by a signal (the bench interrupted): the finally below still ends the QEMUs and removes the taps
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bare-migrate: terminated"))
    args = parse_args()
    lab = json.load(open(f"{args.lab}/lab.json"))
    address = {h["letter"]: h["address"] for h in lab["hosts"]}
    hosts = {letter: Host(args.lab, letter) for letter in ("A", "B")}
    settings = [(int(c), False) for c in args.channels.split(",")]
    if args.zero_copy:
        settings += [(c, True) for c, _ in settings if c > 0]
    work = f"{args.lab}/bare-migrate"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    taps = {"A": "bm0", "B": "bm1"}
    live = {}   # letter -> (process, qmp): the guest's QEMU, and an incoming one while a migration runs
    try:
        for letter, tap in taps.items():   # the QEMU opens its tap, made here and bridged to the guests' L2
            hosts[letter].ip("tuntap", "add", "dev", tap, "mode", "tap")
            hosts[letter].ip("link", "set", tap, "master", "br0", "up")
        at = "A"
        proc = hosts[at].popen(qemu_argv(hosts[at], work, taps[at], f"{work}/{at}-0.qmp", NAME),
                               stdout=subprocess.DEVNULL)
        live[at] = (proc, None)   # ended below even if its QMP never answers
        live[at] = (proc, connect_qmp(f"{work}/{at}-0.qmp"))
        wait_for("the guest filled", lambda: f" filled={FILL_MIB} " in guest_http(hosts[at], "/cgi-bin/status"), 300)
        if args.dirty_rate != "idle":
            guest_http(hosts[at], f"/cgi-bin/dirty?mb={FILL_MIB}&rate={args.dirty_rate}")
            time.sleep(args.gap)   # as the libvirt runs': the dirtying has begun, in a steady state
        n = 0
        for _ in range(args.rounds):
            for channels, zero_copy in settings:
                n += 1
                to = "B" if at == "A" else "A"
                qmp_path = f"{work}/{to}-{n}.qmp"
                started = time.monotonic()
                pids = [live[at][0].pid]
                cpu = ThreadCpu(lambda: pids)   # the incoming QEMU's start is the migration's, as in libvirt's job
                incoming = qemu_argv(hosts[to], work, taps[to], qmp_path, NAME, extra=["-incoming", "defer"])
                proc = hosts[to].popen(incoming, stdout=subprocess.DEVNULL)
                pids.append(proc.pid)
                live[to] = (proc, None)
                live[to] = (proc, connect_qmp(qmp_path))
                src, dst = live[at][1], live[to][1]
                configure(src, channels, zero_copy, args.downtime_limit)
                configure(dst, channels, False, args.downtime_limit)
                dst.run("migrate-incoming", uri=f"tcp:{address[to]}:{PORT}")
                src.run("migrate", uri=f"tcp:{address[to]}:{PORT}")
                done = wait_for("the migration completed", lambda: migration_done(src), 300)
                wall_ms = round((time.monotonic() - started) * 1000)
                per_pid = cpu.stop()
                wait_for("the new QEMU running", lambda: dst.run("query-status")["status"] == "running", 60)
                ram = done["ram"]
                print(json.dumps({
                    "channels": channels, "zero_copy": zero_copy, "from": f"host{at}", "to": f"host{to}",
                    "total_ms": done["total-time"], "setup_ms": done.get("setup-time"),
                    "downtime_ms": done["downtime"], "wall_ms": wall_ms,
                    "memory_bps": round(ram["mbps"] * 1e6 / 8), "transferred": ram["transferred"],
                    "iterations": ram.get("dirty-sync-count"),
                    "cpu": {"source": per_pid[live[at][0].pid], "target": per_pid[live[to][0].pid]},
                }), flush=True)
                src.run("quit")
                live[at][0].wait(30)
                live.pop(at)
                at = to
                time.sleep(args.gap)
        status = guest_http(hosts[at], "/cgi-bin/status")
        print(json.dumps({"guest": status.strip()}), flush=True)
        if "verify_errors=0" not in status:
            sys.exit("bare-migrate: the guest found lost writes, or did not answer")
    finally:
        for proc, qmp in live.values():
            try:
                if qmp:
                    qmp.run("quit")
            except (OSError, RuntimeError, ValueError):
                pass   # already gone: terminated below if not
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for letter, tap in taps.items():
            subprocess.run(["ip", "-n", hosts[letter].netns, "link", "del", tap], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
