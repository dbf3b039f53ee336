#!/usr/bin/env python3
# stream.py IP PORT SECONDS [INTERVAL_S=0.5]: send a TCP stream to an echo server as fast as it takes it and count the
# bytes echoed back. Traffic into a lab guest is shaped by its inbound limit (the echo back is outbound), so the echo
# rate is the inbound rate. Prints "t=<s> mbps=<n>" per interval, then "mbps=<average over the run> bytes=<n>".
import signal, socket, sys, threading, time
ip, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.5
s = socket.create_connection((ip, port), timeout=10)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 256 * 1024)
done = threading.Event()
def send():
    chunk = b"x" * 65536
    try:
        while not done.is_set():
            s.sendall(chunk)
    except OSError:
        pass
sender = threading.Thread(target=send, daemon=True)
sender.start()
stopped = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stopped.set())  # killed: end as cleanly as at the set time
start = time.monotonic(); mark = start; total = 0; window = 0
s.settimeout(1.0)
while True:
    now = time.monotonic()
    if now - start >= seconds or stopped.is_set():
        break
    try:
        n = len(s.recv(262144))
    except socket.timeout:
        n = 0
    total += n; window += n
    now = time.monotonic()
    if now - mark >= interval:
        print(f"t={now - start:.2f} mbps={window * 8 / (now - mark) / 1e6:.2f}", flush=True)
        mark = now; window = 0
elapsed = time.monotonic() - start
# a clean end: stop sending, half-close, read the echoes until the server closes. Closing with echoes in flight
# would reset the connection, and a write into a reset connection kills the guest's echo server (SIGPIPE).
done.set()
s.shutdown(socket.SHUT_WR)  # also ends a sendall blocked in the sender
s.settimeout(10)
try:
    while s.recv(262144):
        pass
except OSError:
    pass
sender.join()
print(f"mbps={total * 8 / elapsed / 1e6:.2f} bytes={total}", flush=True)
s.close()
