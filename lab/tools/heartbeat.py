#!/usr/bin/env python3
# heartbeat.py IP PORT [INTERVAL_MS=5]: a UDP datagram to the guest's echo port every INTERVAL_MS, timing the
# echoes. A datagram lost while the guest is paused is not resent (unlike TCP, whose retransmission timer would
# stretch the gap to 200 ms or more), so the longest silence is the guest-visible pause plus one interval.
# Prints "echoed <n>" after the first echo and every 100th, "gap <ms>" whenever echoes resume after more than
# 3 intervals, and on SIGTERM one JSON line: {"sent", "echoed", "longest_gap_ms", "pause_ms", "gaps_ms"}
# (pause = longest gap - interval; gaps_ms: every silence over 3 intervals, in order).
import json, select, signal, socket, sys, time

ip, port = sys.argv[1], int(sys.argv[2])
interval = (float(sys.argv[3]) if len(sys.argv) > 3 else 5.0) / 1000
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setblocking(False)
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
sent = echoed = 0
last_echo = None
longest = 0.0
gaps = []
next_send = time.monotonic()
while running:
    now = time.monotonic()
    if now >= next_send:
        try:
            sock.sendto(b"beat %d" % sent, (ip, port))
        except OSError:
            pass   # no route for a moment: counts as a lost beat
        sent += 1
        next_send += interval
        if next_send < now:
            next_send = now + interval   # this process was descheduled: do not burst to catch up
    try:
        ready, _, _ = select.select([sock], [], [], max(0.0, next_send - time.monotonic()))
    except InterruptedError:
        continue
    if not ready:
        continue
    while True:
        try:
            sock.recv(64)
        except (BlockingIOError, ConnectionRefusedError):
            break
        now = time.monotonic()
        if last_echo is not None:
            gap = now - last_echo
            longest = max(longest, gap)
            if gap > 3 * interval:
                gaps.append(round(gap * 1000, 1))
                print(f"gap {gap * 1000:.1f}", flush=True)
        last_echo = now
        echoed += 1
        if echoed % 100 == 1:
            print(f"echoed {echoed}", flush=True)
print(json.dumps({"sent": sent, "echoed": echoed, "longest_gap_ms": round(longest * 1000, 1),
                  "pause_ms": round(max(0.0, longest - interval) * 1000, 1), "gaps_ms": gaps[:100]}), flush=True)
