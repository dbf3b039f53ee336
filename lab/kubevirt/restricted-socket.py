"""A stand-in for DVP's patched virtqemud socket: accepts only the peer whose PID is LIBVIRT_UNIX_SOCKET_AUTH_PID
(SO_PEERCRED) and closes on any other at once, as DVP's libvirt does. It speaks no libvirt protocol.
  restricted-socket.py [--options as DVP's virtqemud's] SOCKET_PATH"""
import ctypes
import os
import socket
import struct
import sys

ctypes.CDLL(None).prctl(15, b"virtqemud", 0, 0, 0)  # PR_SET_NAME: the process is named as DVP's daemon
path, allowed = sys.argv[-1], int(os.environ["LIBVIRT_UNIX_SOCKET_AUTH_PID"])
server = socket.socket(socket.AF_UNIX)
server.bind(path)
server.listen(16)
while True:
    client, _ = server.accept()
    pid, _, _ = struct.unpack("3i", client.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    if pid != allowed:
        client.close()
        continue
    client.close()  # the launcher's own calls are out of the lab's scope
