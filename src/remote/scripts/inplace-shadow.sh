# The shadow daemon's private mount namespace (run under `unshare -m --propagation private`): fresh folders over the
# ones a privileged libvirt daemon keeps its state in, the system daemon's socket folder kept reachable inside it
# (the way back, and the secondary drivers a modular host runs), then the daemon itself, in the foreground.
# $1 the run's folder, $2 the daemon (libvirtd or virtqemud).
set -e
d=$1; daemon=$2
mount --bind /run/libvirt "$d/system"
mount --bind /var/lib/libvirt/qemu "$d/system-lib"
mount --bind "$d/run" /run/libvirt
mount --bind "$d/etc" /etc/libvirt
mount --bind "$d/lib" /var/lib/libvirt/qemu
mount --bind "$d/cache" /var/cache/libvirt
mount --bind /var/log/libvirt/qemu "$d/logs/qemu"
mount --rbind "$d/logs" /var/log/libvirt
# the domain's QEMU log and serial log go on in the same files; UEFI variables are the domain's own: the same files, not fresh copies from the template
if [ -d "$d/system-lib/nvram" ]; then mkdir -p /var/lib/libvirt/qemu/nvram; mount --bind "$d/system-lib/nvram" /var/lib/libvirt/qemu/nvram; fi
# one copy of the host's log, lock, network, filter and secret drivers: a modular host's own, reached by its sockets
for s in virtlogd virtlockd virtnetworkd virtnwfilterd virtsecretd virtnodedevd; do
  if [ -S "$d/system/$s-sock" ]; then ln -s "$d/system/$s-sock" "/run/libvirt/$s-sock"; fi
done
# no D-Bus: the shadow's QEMUs register no systemd machine scope (their names would collide with the system's)
if [ -d /run/dbus ]; then mount -t tmpfs -o size=64k,mode=755 ferry-no-dbus /run/dbus; fi
exec "$daemon" -f "/etc/libvirt/$daemon.conf" -p "$d/daemon.pid"
