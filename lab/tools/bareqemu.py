"""A bare QEMU guest (no libvirt) in a lab host's namespaces, for the tools that do to QEMU what libvirt cannot or
should not be measured with (live-update.py, bare-migrate.py): the guest as tiny1 is, its QMP, its web page."""
import json, socket, subprocess, time

MEM_MIB, FILL_MIB, OCTET = 512, 400, 127   # .127: above every other lab guest's address (.96-.126)


def wait_for(what, check, timeout_s):
    end = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"{what} did not happen within {timeout_s} s")
        time.sleep(0.02)


class Qmp:
    """A QMP client on a unix socket: one command at a time, events skipped."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(60)   # a QEMU that stops answering ends the run with an error, not a hang
        self.sock.connect(path)
        self.file = self.sock.makefile("rwb")
        json.loads(self.file.readline())   # greeting
        self.run("qmp_capabilities")

    def run(self, command, **arguments):
        self.file.write(json.dumps({"execute": command, "arguments": arguments}).encode() + b"\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError(f"QMP {command}: {reply['error']['desc']}")

    def close(self):
        self.sock.close()


def connect_qmp(path, timeout_s=60):
    def attempt():
        try:
            return Qmp(path)
        except (FileNotFoundError, ConnectionRefusedError):
            return None
    return wait_for(f"QMP at {path}", attempt, timeout_s)


def guest_http(host, path):
    r = subprocess.run(["ip", "netns", "exec", host.client_netns, "timeout", "3", "busybox", "wget", "-qO-",
                        f"http://{host.guest_net}.{OCTET}{path}"], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else ""


def qemu_argv(host, work, tap, qmp, name, shared_ram=False, extra=()):
    """The guest's QEMU on `tap`; shared_ram: guest RAM in a shared memfd (cpr-transfer). debug-threads names its
    threads (mig/src/send_0 ...), as libvirt starts every QEMU."""
    guest = f"{host.lab}/guest"
    ram = (["-machine", "pc,accel=tcg,memory-backend=ram0,aux-ram-share=on",
            "-object", f"memory-backend-memfd,id=ram0,size={MEM_MIB}M,share=on"]
           if shared_ram else ["-machine", "pc,accel=tcg"])
    return ["/usr/bin/qemu-system-x86_64", "-name", f"{name},debug-threads=on", *ram, "-m", f"{MEM_MIB}M",
            "-cpu", "qemu64", "-smp", "1", "-nodefaults", "-display", "none", "-kernel", f"{guest}/vmlinux",
            "-initrd", f"{guest}/initramfs.cpio.gz",
            "-append", f"console=ttyS0 quiet lab.name=bare lab.ip={host.guest_net}.{OCTET}/24 "
                       f"lab.dirty_mb={FILL_MIB} lab.dirty_rate=idle",
            "-serial", f"file:{work}/{tap}-serial.log",
            "-netdev", f"tap,id=net0,ifname={tap},script=no,downscript=no",
            "-device", f"virtio-net-pci,netdev=net0,mac=52:54:00:00:01:{OCTET:02x}",
            "-qmp", f"unix:{qmp},server=on,wait=off", *extra]


def migration_done(qmp):
    """query-migrate's answer once completed; None while it runs; an error if it failed or was cancelled"""
    info = qmp.run("query-migrate")
    if info.get("status") in ("failed", "cancelled"):
        raise RuntimeError(f"migration {info['status']}: {info.get('error-desc', info)}")
    return info if info.get("status") == "completed" else None
