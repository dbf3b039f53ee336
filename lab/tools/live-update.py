#!/usr/bin/env python3
# live-update.py METHOD [--dirty-rate R] [--host A]: the same-host QEMU live update that libvirt cannot drive,
# on a bare QEMU guest (no libvirt) in a lab host's namespaces, timed by the guest-visible pause.
#   METHOD cpr-transfer:   guest RAM in a shared memfd (-machine aux-ram-share=on); the new QEMU is started with a
#                          cpr channel, receives the memfd and device state, and runs on the same RAM and a new tap.
#   METHOD local-postcopy: a new QEMU process on the same host, postcopy from the first byte (seed 004's method).
# The guest (512 MiB, 400 MiB filled, then idle or dirtying R MiB/s) answers a UDP heartbeat every 5 ms from the
# client namespace (heartbeat.py); the pause is the longest silence of the echoes minus one interval.
# Prints one JSON line: {"method", "dirty", "pause_ms", "longest_gap_ms", "qemu_downtime_ms", "total_ms"}.
# Everything it starts (two QEMUs, two taps, the heartbeat) is ended and removed before it exits.
import argparse, json, os, queue, shutil, signal, subprocess, sys, threading, time

from bareqemu import FILL_MIB, OCTET, connect_qmp, guest_http, migration_done, qemu_argv, wait_for
from labhost import Host

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "bare-live-update"


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("method", choices=["cpr-transfer", "local-postcopy"])
    p.add_argument("--dirty-rate", default="idle", help="'idle' or MiB/s the guest keeps writing")
    p.add_argument("--host", default="A", help="lab host letter")
    p.add_argument("--lab", default=os.environ.get("LAB", "/var/lib/ferry-lab"))
    return p.parse_args()


def main():
    args = parse_args()
    host = Host(args.lab, args.host)
    work = f"{args.lab}/hosts/{host.name}/live-update"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cpr = args.method == "cpr-transfer"
    procs, qmps, taps = [], [], ["lu0", "lu1"]
    beat = None
    try:
        for tap in taps:   # persistent taps on the guest bridge: the new QEMU opens its own before it can run
            host.ip("tuntap", "add", "dev", tap, "mode", "tap")
            host.ip("link", "set", tap, "master", "br0", "up")
        old = host.popen(qemu_argv(host, work, taps[0], f"{work}/old.qmp", NAME, cpr))
        procs.append(old)
        old_qmp = connect_qmp(f"{work}/old.qmp")
        qmps.append(old_qmp)
        wait_for("the guest filled", lambda: f" filled={FILL_MIB} " in guest_http(host, "/cgi-bin/status"), 180)
        if args.dirty_rate != "idle":
            guest_http(host, f"/cgi-bin/dirty?mb={FILL_MIB}&rate={args.dirty_rate}")
        beat = subprocess.Popen(["ip", "netns", "exec", host.client_netns, sys.executable, f"{HERE}/heartbeat.py",
                                 f"{host.guest_net}.{OCTET}", "7000", "5"], stdout=subprocess.PIPE, text=True)
        beats = queue.Queue()
        threading.Thread(target=lambda: [beats.put(line) for line in beat.stdout] + [beats.put(None)], daemon=True).start()

        def echoed(timeout_s, what):
            """the heartbeat's next "echoed" line (it prints one per 100 echoes), or a clear error"""
            end = time.monotonic() + timeout_s
            while True:
                try:
                    line = beats.get(timeout=max(0.0, end - time.monotonic()))
                except queue.Empty:
                    line = None
                if line is None:
                    raise TimeoutError(f"live-update: no {what} within {timeout_s} s (a strict conntrack ruleset drops the "
                                       "heartbeat's UDP: lab.sh ct loose)")
                if line.startswith("echoed "):
                    return
        echoed(30, "heartbeat echoes")
        main_sock, cpr_sock = f"{work}/main.sock", f"{work}/cpr.sock"
        start = time.monotonic()
        if cpr:
            # the new QEMU waits on the cpr channel for the memfd before it builds the machine: no QMP until then
            cpr_channel = {"channel-type": "cpr", "addr": {"transport": "socket", "type": "unix", "path": cpr_sock}}
            new = host.popen(qemu_argv(host, work, taps[1], f"{work}/new.qmp", NAME, True,
                                       ["-incoming", f"unix:{main_sock}", "-incoming", json.dumps(cpr_channel)]))
            procs.append(new)
            wait_for("the cpr socket", lambda: os.path.exists(cpr_sock), 30)
            old_qmp.run("migrate-set-parameters", mode="cpr-transfer")
            old_qmp.run("migrate", channels=[
                {"channel-type": "main", "addr": {"transport": "socket", "type": "unix", "path": main_sock}},
                cpr_channel])
            new_qmp = connect_qmp(f"{work}/new.qmp")
            qmps.append(new_qmp)
        else:
            new = host.popen(qemu_argv(host, work, taps[1], f"{work}/new.qmp", NAME, False, ["-incoming", "defer"]))
            procs.append(new)
            new_qmp = connect_qmp(f"{work}/new.qmp")
            qmps.append(new_qmp)
            for q in (old_qmp, new_qmp):
                q.run("migrate-set-capabilities", capabilities=[{"capability": "postcopy-ram", "state": True}])
            new_qmp.run("migrate-incoming", uri=f"unix:{main_sock}")
            wait_for("the incoming socket", lambda: os.path.exists(main_sock), 30)
            old_qmp.run("migrate", uri=f"unix:{main_sock}")
            old_qmp.run("migrate-start-postcopy")
        wait_for("the new QEMU running", lambda: new_qmp.run("query-status")["status"] == "running", 120)
        done = wait_for("the migration completed", lambda: migration_done(old_qmp), 300)
        total_ms = round((time.monotonic() - start) * 1000)
        echoed(30, "heartbeat echoes from the new QEMU")
        echoed(30, "more heartbeat echoes")
        beat.send_signal(signal.SIGTERM)
        beat.wait()
        rest = []
        while (line := beats.get(timeout=10)) is not None:
            rest.append(line)
        result = json.loads([line for line in rest if line.startswith("{")][-1])
        beat = None
        print(json.dumps({"method": args.method, "dirty": args.dirty_rate, "pause_ms": result["pause_ms"],
                          "longest_gap_ms": result["longest_gap_ms"], "qemu_downtime_ms": done.get("downtime"),
                          "total_ms": total_ms, "echoes": f"{result['echoed']}/{result['sent']}"}), flush=True)
    finally:
        if beat:
            beat.kill()
        for q in qmps:
            try:
                q.run("quit")
            except (OSError, RuntimeError, ValueError):
                pass   # already gone: terminated below if not
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for tap in taps:
            subprocess.run(["ip", "-n", host.netns, "link", "del", tap], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
