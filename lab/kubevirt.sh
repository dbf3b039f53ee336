#!/bin/bash
# shellcheck disable=SC2046 # $(mgmt_ip …), $(netns …): the lab's own names and numbers
# KubeVirt-like nodes in the lab: virt-launcher pods on the lab hosts and migrations between them as KubeVirt drives
# them (see lab/README or ../shared/design/kubevirt-node.md). What is not emulated: Kubernetes, kubelet, cgroups per
# pod, a pod's own network namespace (its tap is on the host's br0), Cilium, CDI.
#   kubevirt.sh pod X NS VM [--octet N] [--mem MiB] [--uid U] [--ipc-lock] [--dvp] [--stopped|--paused]
#        a VM's pod on hostX, its domain NS_VM running (QEMU as uid U, 107 by default, CapEff 0x400; --ipc-lock adds
#        CAP_IPC_LOCK as a root launcher's QEMU had; --dvp: DVP's socket that only the launcher may use, no domain;
#        --paused: its QEMU started with the vCPUs stopped, --stopped: no QEMU, for many pods on two cores)
#   kubevirt.sh migrate NS VM X Y [--parallel N] [--bandwidth MiB]   KubeVirt's migration of NS/VM from hostX to hostY
#   kubevirt.sh delete NS VM [X]    kubevirt.sh list    kubevirt.sh clear
set -euo pipefail
. "$(dirname "$0")/lib.sh"
PODS=$LAB/pods
GRACE_S=${KV_GRACE_S:-3}   # a source pod lives on this long after its VM left (virt-launcher's shutdown)

build() {  # the launcher stand-in, built once per lab state folder
  mkdir -p $LAB/kubevirt/bin
  local src=$LAB_SRC/kubevirt/launcher.c bin=$LAB/kubevirt/bin/virt-launcher-monitor
  if [ ! -x $bin ] || [ $src -nt $bin ]; then
    gcc -O2 -Wall -o $bin $src; ln -f $bin $LAB/kubevirt/bin/virt-launcher
  fi
}

pod_dir() {  # pod_dir NS VM [X]: the pod's folder (the newest, if a migration left two)
  local d best=''; for d in "$PODS"/*/; do
    [ -f "$d/pod.env" ] || continue
    ( . "$d/pod.env"; [ "$NS" = "$1" ] && [ "$VM" = "$2" ] && { [ -z "${3:-}" ] || [ "$HOST" = "$3" ]; } ) \
      && { [ -z "$best" ] || [ "$d" -nt "$best" ]; } && best=$d
  done; [ -n "$best" ] && echo "${best%/}"
}

new_pod() {  # new_pod X NS VM VMI ROLE KIND OCTET MEM QUID CAPS START → the pod's folder on stdout
  local x=$1 ns=$2 vm=$3 vmi=$4 role=$5 kind=$6 octet=$7 mem=$8 quid=$9 caps=${10} start=${11}
  [[ $ns =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ && $vm =~ ^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$ ]] \
    || { echo "kubevirt: '$ns/$vm' is not a Kubernetes name" >&2; return 2; }
  local name; name=virt-launcher-$vm-$(tr -dc 'a-z0-9' </dev/urandom | head -c5)
  local d=$PODS/$name tap=kv$octet; mkdir -p $d
  cat > $d/pod.env <<ENV
HOST=$x NAME=$name NS=$ns VM=$vm VMI=$vmi ROLE=$role KIND=$kind OCTET=$octet MEM=$mem QUID=$quid CAPS=$caps TAP=$tap START=$start
ENV
  hx $x ip tuntap add dev $tap mode tap user $quid group $quid
  hx $x ip link set $tap master br0 up
  hx $x unshare -m --propagation private "$LAB_SRC/kubevirt/pod-setup.sh" $d >&2 || { delete_dir $d; return 1; }
  echo $d
}

pod() {
  local x=$1 ns=$2 vm=$3; shift 3
  local octet=110 mem=256 quid=107 caps=+net_bind_service kind=kubevirt start=1
  while [ $# -gt 0 ]; do case $1 in
    --octet) octet=$2; shift ;; --mem) mem=$2; shift ;; --uid) quid=$2; shift ;;
    --ipc-lock) caps=+net_bind_service,+ipc_lock ;; --dvp) kind=dvp; quid=64535 ;; --stopped) start=0 ;;
    --paused) start=paused ;;
    *) echo "kubevirt pod: unknown option $1" >&2; return 2 ;;
  esac; shift; done
  build
  ! pod_dir $ns $vm >/dev/null || { echo "kubevirt: $ns/$vm has a pod already" >&2; return 2; }
  local d; d=$(new_pod $x $ns $vm "$(cat /proc/sys/kernel/random/uuid)" source $kind $octet $mem $quid $caps $start)
  ( . $d/pod.env; echo "$NAME on host$x: ${NS}_$VM launcher pid $(cat $d/launcher.pid)" )
}

delete_dir() {  # a pod's processes end (its domain destroyed first), its tap and folder go
  local d=$1; ( . $d/pod.env
    local launcher mon; launcher=$(cat $d/launcher.pid 2>/dev/null || true); mon=$(cat $d/monitor.pid 2>/dev/null || true)
    if [ -n "$launcher" ] && [ -S /proc/$launcher/root/run/libvirt/libvirt-sock ]; then
      local pidfile=/proc/$launcher/root/run/libvirt/libvirtd.pid daemon
      daemon=$(cat $pidfile 2>/dev/null || true)
      hx $HOST virsh -q -c "qemu+unix:///session?socket=/proc/$launcher/root/run/libvirt/libvirt-sock" destroy "${NS}_$VM" >/dev/null 2>&1 || true
      [ -n "$daemon" ] && kill $daemon 2>/dev/null || true
    fi
    # what else runs in the pod's mount namespace (the DVP socket, a QEMU libvirt lost): by PID
    if [ -n "$launcher" ] && [ -e /proc/$launcher/ns/mnt ]; then
      local ns p; ns=$(readlink /proc/$launcher/ns/mnt)
      for p in /proc/[0-9]*; do [ "$(readlink $p/ns/mnt 2>/dev/null)" = "$ns" ] && [ ${p#/proc/} != $launcher ] && [ ${p#/proc/} != "$mon" ] && kill ${p#/proc/} 2>/dev/null; done
    fi
    [ -n "$mon" ] && kill $mon 2>/dev/null || true
    for _ in $(seq 1 50); do { [ -n "$mon" ] && kill -0 $mon 2>/dev/null; } || break; sleep 0.1; done
    [ -e /run/netns/$(netns $HOST) ] && hx $HOST ip link del $TAP 2>/dev/null || true
  ) || true
  rm -rf $d
}

delete() { local d; d=$(pod_dir "$1" "$2" "${3:-}") || { echo "kubevirt: no pod of $1/$2" >&2; return 1; }; delete_dir $d; }

list() {
  local d; for d in "$PODS"/*/; do
    [ -f "$d/pod.env" ] || continue
    ( . "$d/pod.env"; echo "host$HOST $NAME $NS/$VM $ROLE $KIND uid $QUID caps $CAPS launcher $(cat $d/launcher.pid 2>/dev/null)" )
  done
}

clear_pods() { local d; for d in "$PODS"/*/; do if [ -f "$d/pod.env" ]; then delete_dir "${d%/}"; fi; done; }

start_proxy() {  # start_proxy X MODE LISTEN CONNECT: on hostX, until the migration ends; waits until it listens
  local out; out=$(mktemp /tmp/ferry-kvproxy-XXXXXX)
  hx $1 python3 -u "$LAB_SRC/kubevirt/proxy.py" $2 $3 $4 > $out 2>&1 &
  for _ in $(seq 1 100); do grep -q ready $out && break; sleep 0.05; done
  grep -q ready $out || { cat $out >&2; rm -f $out; return 1; }
  PROXIES+=("$(sed -n 's/^ready //p' $out)")   # its own PID: hx runs it two forks below this shell
  rm -f $out
}

migrate() {  # as virt-handler and virt-launcher: target pod, proxies on both nodes, MigrateToURI3 with KubeVirt's flags
  local ns=$1 vm=$2 x=$3 y=$4; shift 4
  local extra=()
  while [ $# -gt 0 ]; do case $1 in
    --parallel) extra+=(--parallel --parallel-connections "$2"); shift ;;
    --bandwidth) extra+=(--bandwidth "$2"); shift ;;
    *) echo "kubevirt migrate: unknown option $1" >&2; return 2 ;;
  esac; shift; done
  local src; src=$(pod_dir $ns $vm $x) || { echo "kubevirt: no pod of $ns/$vm on host$x" >&2; return 1; }
  . $src/pod.env
  local tgt; tgt=$(new_pod $y $ns $vm $VMI target $KIND $OCTET $MEM $QUID $CAPS 0)
  local spid tpid; spid=$(cat $src/launcher.pid); tpid=$(cat $tgt/launcher.pid)
  local ip; ip=$(mgmt_ip $y); local p1=$(( 30000 + RANDOM % 10000 )); local p2=$(( p1 + 1 ))
  # the pods' /var/run is a link to /run, which from the node must be read inside the pod's root
  local dir=/var/run/kubevirt/migrationproxy node_dir=/run/kubevirt/migrationproxy
  PROXIES=()
  trap 'kill "${PROXIES[@]}" 2>/dev/null || true' EXIT
  local rc=0
  {
    # target node: TCP -> the target pod's libvirt, and -> the socket its QEMU listens on for the migration stream
    start_proxy $y tcp-to-unix $ip:$p1 /proc/$tpid/root/run/libvirt/virtqemud-sock &&
    start_proxy $y tcp-to-unix $ip:$p2 /proc/$tpid/root$node_dir/$VMI-49152-source.sock &&
    # source node: the source pod's unix sockets -> TCP to the target node
    start_proxy $x unix-to-tcp /proc/$spid/root$node_dir/$VMI-source.sock $ip:$p1 &&
    start_proxy $x unix-to-tcp /proc/$spid/root$node_dir/$VMI-49152-source.sock $ip:$p2
  } || rc=$?
  [ $rc = 0 ] && echo "migrating ${ns}_$vm host$x -> host$y (target pod $(. $tgt/pod.env; echo $NAME))"
  # the source launcher's MigrateToURI3: VIR_MIGRATE_LIVE | PEER2PEER | PERSIST_DEST (| UNSAFE), its URIs
  [ $rc = 0 ] && hx $x nsenter --mount=/proc/$spid/ns/mnt -- setpriv --reuid=$QUID --regid=$QUID --clear-groups \
    env -i HOME=/var/run/kubevirt-private XDG_RUNTIME_DIR=/var/run PATH=/usr/bin:/bin \
    virsh -q -c "qemu+unix:///session?socket=/var/run/libvirt/virtqemud-sock" migrate --live --p2p --persistent \
    --unsafe "${extra[@]}" "${ns}_$vm" "qemu+unix:///session?socket=$dir/$VMI-source.sock" \
    --migrateuri "unix://$dir/$VMI-49152-source.sock" || rc=$?
  kill "${PROXIES[@]}" 2>/dev/null || true
  if [ $rc = 0 ]; then
    sed -i 's/ ROLE=target / ROLE=source /' $tgt/pod.env   # the VM's pod now
    echo "migrated ${ns}_$vm to host$y"; sleep $GRACE_S; delete_dir $src
  else
    echo "migration of ${ns}_$vm failed (exit $rc); target pod removed" >&2; delete_dir $tgt; return 1
  fi
}

case ${1:-} in
  pod) shift; pod "${1:?host letter}" "${2:?namespace}" "${3:?vm}" "${@:4}" ;;
  migrate) shift; migrate "${1:?namespace}" "${2:?vm}" "${3:?from}" "${4:?to}" "${@:5}" ;;
  delete) delete "${2:?namespace}" "${3:?vm}" "${4:-}" ;;
  list) list ;;
  clear) clear_pods ;;
  *) echo "usage: kubevirt.sh pod X NS VM [options] | migrate NS VM X Y [options] | delete NS VM [X] | list | clear"; exit 2 ;;
esac
