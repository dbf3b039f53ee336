#!/usr/bin/env python3
# threadcpu.py UUID: the CPU each thread of a domain's QEMU processes uses while a migration runs, read from /proc
# (the lab's hosts share the machine's /proc: the source's QEMU and the target's new one are both seen). Polls until
# its stdin closes, then prints one JSON line: per QEMU found, "source" (running when polling began) or "target", and
# CPU seconds per thread name. Thread names need QEMU's -name ...,debug-threads=on (libvirt always passes it).
import json, os, sys, threading, time

CLK = os.sysconf("SC_CLK_TCK")


class ThreadCpu:
    """Each thread's CPU ticks of some processes, polled every 20 ms: a multifd thread exits when its migration ends,
    and its ticks with it, so the last reading before that is kept. Seconds of CPU per thread name, summed.
    pids: a function giving the processes to read, asked at each poll (a target's QEMU appears later)."""

    def __init__(self, pids):
        self.pids, self.first, self.last = pids, {}, {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.poll, daemon=True)
        self.read(baseline=True)
        self.thread.start()

    def read(self, baseline=False):
        """baseline: the threads there when polling begins, counted from now; any seen later is counted from its start,
        its ticks all the migration's"""
        for pid in self.pids():
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except FileNotFoundError:
                continue
            for tid in tids:
                try:
                    with open(f"/proc/{pid}/task/{tid}/stat") as f:
                        stat = f.read()
                except (FileNotFoundError, ProcessLookupError):
                    continue
                name = stat[stat.index("(") + 1: stat.rindex(")")]
                fields = stat[stat.rindex(")") + 2:].split()
                ticks = int(fields[11]) + int(fields[12])
                self.first.setdefault((pid, tid), ticks if baseline else 0)
                self.last[(pid, tid)] = (name, ticks)

    def poll(self):
        while not self.stopped.wait(0.02):
            self.read()

    def stop(self):
        self.stopped.set()
        self.thread.join()
        self.read()
        per_pid = {}
        for (pid, tid), (name, ticks) in self.last.items():
            threads = per_pid.setdefault(pid, {})
            threads[name] = round(threads.get(name, 0) + (ticks - self.first[(pid, tid)]) / CLK, 2)
        return per_pid


def qemu_pids(uuid):
    """QEMU processes started with -uuid UUID"""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if any(a == b"-uuid" and b == uuid.encode() for a, b in zip(argv, argv[1:])):
            found.append(int(pid))
    return found


def main():
    uuid = sys.argv[1]
    sources = qemu_pids(uuid)
    seen = set(sources)
    last_scan = [0.0]

    def pids():
        # the target's QEMU is looked for every 100 ms until found: a scan of /proc costs a core's time on this lab
        if len(seen) == len(sources) and time.monotonic() - last_scan[0] >= 0.1:
            last_scan[0] = time.monotonic()
            seen.update(qemu_pids(uuid))
        return sorted(seen)

    cpu = ThreadCpu(pids)
    print("polling", flush=True)
    sys.stdin.read()
    per_pid = cpu.stop()
    roles = {}
    for pid, threads in per_pid.items():   # a role's processes (one, as a rule) summed
        role = roles.setdefault("source" if pid in sources else "target", {})
        for name, seconds in threads.items():
            role[name] = round(role.get(name, 0) + seconds, 2)
    print(json.dumps(roles))


if __name__ == "__main__":
    main()
