#!/usr/bin/env python3
# forks.py ROOT_PID: counts the processes started under ROOT_PID (its children, theirs, ...) from the kernel's process
# events (the proc connector: every fork on the machine, as it happens, so none is missed however short it lives).
# Prints "listening" once subscribed, then at the end of its stdin "forks=N" and exits. Root only.
import os
import socket
import struct
import sys
import threading

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_EVENT_FORK = 0x00000001
NLMSG_HDR = struct.Struct("=IHHII")          # len, type, flags, seq, pid
CN_MSG = struct.Struct("=IIIIHH")            # idx, val, seq, ack, len, flags
EVENT_HDR = struct.Struct("=IIQ")            # what, cpu, timestamp_ns
FORK = struct.Struct("=IIII")                # parent pid, parent tgid, child pid, child tgid

root = int(sys.argv[1])
tracked = {root}
forks = 0
done = threading.Event()

sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
sock.bind((os.getpid(), CN_IDX_PROC))
op = struct.pack("=I", PROC_CN_MCAST_LISTEN)
cn = CN_MSG.pack(CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(op), 0) + op
sock.send(NLMSG_HDR.pack(NLMSG_HDR.size + len(cn), 3, 0, 0, os.getpid()) + cn)  # NLMSG_DONE
sock.settimeout(0.2)
print("listening", flush=True)
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()

while not done.is_set():
    try:
        data = sock.recv(65536)
    except socket.timeout:
        continue
    at = NLMSG_HDR.size + CN_MSG.size
    what = EVENT_HDR.unpack_from(data, at)[0]
    if what != PROC_EVENT_FORK:
        continue
    _, parent_tgid, child_pid, child_tgid = FORK.unpack_from(data, at + EVENT_HDR.size)
    if parent_tgid in tracked and child_pid == child_tgid:   # a new process, not a thread
        tracked.add(child_tgid)
        forks += 1
print(f"forks={forks}", flush=True)
