#!/usr/bin/env python3
# echo-hold.py IP PORT N SECONDS [REPLY_TIMEOUT_S=1]: hold N TCP connections to an echo server for SECONDS, echoing
# a line on each every 0.5 s; a connection counts in a round when its echo comes back within REPLY_TIMEOUT_S.
# Prints one line per round and finally "rounds=R min_ok=M/N last_ok=L/N".
import socket, sys, time
ip, port, n, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
reply_timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
socks = [socket.create_connection((ip, port), timeout=5) for _ in range(n)]
print(f"opened {n}", flush=True)
end = time.time() + seconds
rounds, min_ok, ok = 0, n, n
while time.time() < end:
    rounds += 1; ok = 0
    for s in socks:
        try:
            s.sendall(b"ping %d\n" % rounds); s.settimeout(reply_timeout); ok += bool(s.recv(64))
        except Exception:
            pass
    min_ok = min(min_ok, ok)
    print(f"round {rounds}: {ok}/{n}", flush=True)
    time.sleep(0.5)
print(f"rounds={rounds} min_ok={min_ok}/{n} last_ok={ok}/{n}", flush=True)
