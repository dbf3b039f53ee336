#!/usr/bin/env python3
# events.py RATE SECONDS [--lab DIR]: libvirt domain events at RATE per second in all, spread over every lab host in
# turn, for SECONDS: each host defines tiny domains (ferry-ev-NNNN, never started) until it holds KEEP of them, then
# in turn undefines its oldest and defines a new one, so each event is a domain appearing or going. One interactive virsh per host does them (a virsh process per
# event would cost the hosts more than what is measured). On stdout, one JSON line per event once its host's
# virsh has done it: {"at": <ms since the epoch>, "host": "hostD", "name": "ferry-ev-0003", "op": "define"}, and at
# the end {"events": <n>, "late_ms": <the most an event was sent after its time>}. Then it waits for the end of its
# stdin (so the last domains stay while their arrival is measured) and undefines what it defined before it exits.
import argparse, json, os, re, shutil, subprocess, sys, threading, time

from labhost import Host, hosts_of

XML = ("<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
       "<os><type arch='x86_64' machine='pc'>hvm</type></os></domain>")
DONE = re.compile(rb"ferry-done-(\d+)")
KEEP = 10   # each domain lives about 2 × KEEP of its host's turns


class HostVirsh:
    """One virsh shell on a host; a command is done when the marker echoed after it comes back."""

    def __init__(self, host, out, lock):
        self.host, self.out, self.lock = host, out, lock
        self.proc = host.popen(["virsh", "-q", "-c", "qemu:///system"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
        self.pending = {}
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def send(self, seq, command, event):
        self.pending[seq] = event
        # the blank line: virsh runs a line only once it has read the next one
        self.proc.stdin.write(f'{command}\necho "ferry""-done-{seq}"\n\n'.encode())
        self.proc.stdin.flush()

    def read(self):
        buffered = b""
        while chunk := self.proc.stdout.read1(65536):
            buffered += chunk
            for m in DONE.finditer(buffered):
                event = self.pending.pop(int(m.group(1)), None)
                if event:
                    with self.lock:
                        self.out.write(json.dumps({"at": round(time.time() * 1000, 1), **event}) + "\n")
                        self.out.flush()
            buffered = buffered[-32:]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(30)
        self.reader.join(5)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("rate", type=float)
    p.add_argument("seconds", type=float)
    p.add_argument("--lab", default=os.environ.get("LAB", "/var/lib/ferry-lab"))
    args = p.parse_args()
    hosts = [Host(args.lab, letter) for letter in hosts_of(args.lab)]
    lock = threading.Lock()
    shells = []
    for h in hosts:
        folder = f"{args.lab}/hosts/{h.name}/events"
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        shells.append((h, folder, HostVirsh(h, sys.stdout, lock)))
    total = int(args.rate * args.seconds)
    defined = [[] for _ in shells]   # per host, the domains it holds, oldest first
    counters = [0] * len(shells)
    late = 0.0
    start = time.monotonic()
    summary = {}
    try:
        for seq in range(total):
            due = start + seq / args.rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            late = max(late, time.monotonic() - due)
            i = seq % len(shells)
            host, folder, shell = shells[i]
            held = defined[i]
            if len(held) < KEEP:
                counters[i] += 1
                name = f"ferry-ev-{counters[i]:04d}"
                with open(f"{folder}/{name}.xml", "w") as f:
                    f.write(XML.format(name=name))
                shell.send(seq, f"define {folder}/{name}.xml", {"host": host.name, "name": name, "op": "define"})
                held.append(name)
            else:
                name = held.pop(0)
                shell.send(seq, f"undefine {name}", {"host": host.name, "name": name, "op": "undefine"})
        for _, _, shell in shells:   # every event done before the summary
            while shell.pending:
                time.sleep(0.01)
        summary = {"events": total, "late_ms": round(late * 1000, 1)}
        with lock:
            print(json.dumps(summary), flush=True)
        sys.stdin.read()
    finally:
        for i, (host, folder, shell) in enumerate(shells):
            for name in defined[i]:
                shell.proc.stdin.write(f"undefine {name}\n\n".encode())
            shell.close()
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
