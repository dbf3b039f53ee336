"""The lab's virt-handler migration proxy: one end a unix socket, the other TCP, bytes copied both ways per
connection (KubeVirt: source pod unix socket <-> node TCP <-> node TCP <-> target pod unix socket).
  proxy.py unix-to-tcp SOCKET_PATH HOST:PORT   (listens on SOCKET_PATH, mode 0666 so the pod's uid may connect)
  proxy.py tcp-to-unix HOST:PORT SOCKET_PATH   (listens on HOST:PORT)
Prints "ready PID" once listening."""
import os
import socket
import sys
import threading

CHUNK = 1 << 20


def pipe(src, dst):
    try:
        while True:
            data = src.recv(CHUNK)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
        try:
            s.shutdown(how)
        except OSError:
            pass


def tcp_addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def main():
    mode, listen_at, connect_to = sys.argv[1:4]
    if mode == "unix-to-tcp":
        if os.path.exists(listen_at):
            os.unlink(listen_at)
        server = socket.socket(socket.AF_UNIX)
        server.bind(listen_at)
        os.chmod(listen_at, 0o666)
        connect = lambda: socket.create_connection(tcp_addr(connect_to))
    else:
        server = socket.socket(socket.AF_INET)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(tcp_addr(listen_at))

        def connect():
            s = socket.socket(socket.AF_UNIX)
            s.connect(connect_to)
            return s
    server.listen(16)
    print(f"ready {os.getpid()}", flush=True)
    while True:
        client, _ = server.accept()
        try:
            upstream = connect()
        except OSError as e:
            print(f"proxy: {connect_to}: {e}", file=sys.stderr, flush=True)
            client.close()
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pipe, args=(a, b), daemon=True).start()


main()
