#!/bin/bash
# Runs as root INSIDE a new private mount namespace on a lab host: makes it a KubeVirt virt-launcher pod.
#   pod-setup.sh POD_DIR   (POD_DIR/pod.env: NS VM VMI QUID CAPS ROLE KIND OCTET MEM TAP)
# The pod's /var/run is its own (KubeVirt's emptyDirs); its libvirt is a session-mode daemon run as QUID with only the
# capabilities in CAPS (KubeVirt's non-root launcher: CAP_NET_BIND_SERVICE alone), socket where virtqemud's is.
set -euo pipefail
POD=$1
. "$POD/pod.env"
LAB_SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$LAB_SRC/lib.sh"
mount -t tmpfs -o mode=755 tmpfs /run                     # /var/run is a link to /run
# the image's own users: KubeVirt's has "qemu" (107); DVP's launcher runs as 64535
{ grep -v '^qemu:' /etc/passwd; echo "qemu:x:$QUID:$QUID:qemu user:/var/run/kubevirt-private:/sbin/nologin"; } > "$POD/passwd"
{ grep -v '^qemu:' /etc/group; echo "qemu:x:$QUID:"; } > "$POD/group"
mount --bind "$POD/passwd" /etc/passwd; mount --bind "$POD/group" /etc/group
mkdir -p /run/libvirt /run/kubevirt/migrationproxy /run/kubevirt/sockets /run/kubevirt-private/libvirt
chown -R "$QUID:$QUID" /run/libvirt /run/kubevirt /run/kubevirt-private
# KubeVirt's qemu.conf (cmd/virt-launcher/qemu.conf), but stdio_handler "file": without systemd there is no virtlogd
# for a session daemon (and KubeVirt's "logd" then fails: "Failed to find group record for gid …")
cat > /run/kubevirt-private/libvirt/qemu.conf <<CONF
stdio_handler = "file"
vnc_listen = "127.0.0.1"
namespaces = [ ]
cgroup_controllers = [ ]
remember_owner = 0
max_core = "unlimited"
CONF
printf 'log_outputs = "3:file:/var/run/kubevirt-private/libvirtd.log"\n' > /run/kubevirt-private/libvirt/libvirtd.conf
chown -R "$QUID:$QUID" /run/kubevirt-private
# as the pod's uid, with only its capabilities and KubeVirt's session layout
AS_POD=(setpriv --reuid="$QUID" --regid="$QUID" --clear-groups --inh-caps="-all,$CAPS" --ambient-caps="-all,$CAPS"
  --bounding-set="-all,$CAPS" env -i HOME=/var/run/kubevirt-private XDG_RUNTIME_DIR=/var/run
  XDG_CONFIG_HOME=/var/run/kubevirt-private XDG_CACHE_HOME=/var/run/kubevirt-private PATH=/usr/sbin:/usr/bin:/sbin:/bin)
LAUNCHER_ARGS=(--qemu-timeout 240s --name "$VM" --uid "$VMI" --namespace "$NS" --kubevirt-share-dir /var/run/kubevirt
  --ephemeral-disk-dir /var/run/kubevirt-ephemeral-disks --container-disk-dir /var/run/kubevirt/container-disks
  --grace-period-seconds 45 --hook-sidecars 0 --ovmf-path /usr/share/OVMF --run-as-nonroot)
# (exec -a: argv[0] as KubeVirt's; the binary's own name gives the process name)
"${AS_POD[@]}" bash -c 'exec -a /usr/bin/virt-launcher-monitor "$0" "$@"' "$LAB/kubevirt/bin/virt-launcher-monitor" \
  "${LAUNCHER_ARGS[@]}" </dev/null >/dev/null 2>&1 &
echo $! > "$POD/monitor.pid"
launcher=''
for _ in $(seq 1 100); do
  launcher=$(cat "/proc/$(cat "$POD/monitor.pid")/task/$(cat "$POD/monitor.pid")/children" 2>/dev/null | tr -d ' ')
  [ -n "$launcher" ] && break; sleep 0.05
done
[ -n "$launcher" ] || { echo "pod: virt-launcher did not start" >&2; exit 1; }
echo "$launcher" > "$POD/launcher.pid"
SOCK=/run/libvirt/virtqemud-sock
if [ "$KIND" = dvp ]; then
  # DVP's patched virtqemud: its socket closes on any peer but the launcher (SO_PEERCRED), no read-only socket. This
  # stand-in speaks no libvirt; it only refuses as DVP's does. A copy in the pod: the pod's uid may not read the
  # checkout (a clone under a 0700 mktemp folder)
  install -m 0444 "$LAB_SRC/kubevirt/restricted-socket.py" /run/kubevirt-private/
  "${AS_POD[@]}" LIBVIRT_UNIX_SOCKET_AUTH_PID="$launcher" bash -c 'exec -a /usr/sbin/virtqemud python3 "$@"' \
    virtqemud /var/run/kubevirt-private/restricted-socket.py --no-admin-srv --no-ro-srv "$SOCK" \
    </dev/null >/dev/null 2>"$POD/restricted-socket.log" &
  for _ in $(seq 1 100); do [ -S $SOCK ] && break; sleep 0.05; done
  [ -S $SOCK ] || { echo "pod: DVP's socket stand-in did not start: $(cat "$POD/restricted-socket.log")" >&2; exit 1; }
  exit 0
fi
"${AS_POD[@]}" /usr/sbin/libvirtd -d
for _ in $(seq 1 200); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.05; done
[ -S /run/libvirt/libvirt-sock ] || { echo "pod: libvirtd did not start; see its log" >&2; exit 1; }
# libvirtd's session socket where KubeVirt's virtqemud has its own: a second name for the same socket (a hard link:
# Ferry takes no link on the way to a pod's socket, which from the node could point anywhere)
ln /run/libvirt/libvirt-sock $SOCK
[ "$ROLE" = source ] || exit 0      # a migration target: KubeVirt's target pod waits with no domain
URI="qemu+unix:///session?socket=$SOCK"
TAP=$TAP DOMAIN_UUID=$VMI SERIAL_LOG=/var/run/kubevirt-private/serial.log "$LAB_SRC/domain-xml.sh" "${NS}_$VM" \
  "$OCTET" "$MEM" > /run/kubevirt-private/domain.xml
"${AS_POD[@]}" virsh -q -c "$URI" define /var/run/kubevirt-private/domain.xml >/dev/null
case $START in
  1) "${AS_POD[@]}" virsh -q -c "$URI" start "${NS}_$VM" >/dev/null ;;
  paused) "${AS_POD[@]}" virsh -q -c "$URI" start --paused "${NS}_$VM" >/dev/null ;;
esac
exit 0
