# shellcheck shell=bash disable=SC2034,SC2046 # sourced: its variables are used by the scripts that source it; $(netns …) is a fixed name
# Sourced by the lab scripts. Everything the lab creates lives under $LAB (state, keys, per-host dirs).
LAB=${LAB:-/var/lib/ferry-lab}
LAB_SRC=${LAB_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
HOSTS=${LAB_HOSTS:-"A B C"}
# Address plan (each a /24 given as its first three octets); checked against the machine's routes by `up`.
MGMT_NET=${LAB_MGMT_NET:-10.0.0}    # management + migration network; the root namespace is .1, hosts .11 .12 ...
GUEST_NET=${LAB_GUEST_NET:-10.0.1}  # shared guest L2; hosts' br0 .11 .12 ..., client netns .200, guests .96-.127
CT_MODE=${LAB_CT:-strict}           # strict | loose | none
GUESTS=${LAB_GUESTS:-tiny1}         # tiny1 | none (the fleet benchmark's hosts run no guest)
# the login shell of SSH user 'ferry' on each host: Ferry must not depend on it (sshd hands it every command)
LOGIN_SHELLS=${LAB_LOGIN_SHELLS:-"hostA:bash hostB:fish hostC:tcsh"}
login_shell() { local s; s=$(echo " $LOGIN_SHELLS " | grep -oP " host$1:\K\S+" || echo bash); command -v "$s"; }
PFX=${LAB_PREFIX:-ferry}            # names of the namespaces and the root-side veth: ferry-fabric, ferry-hostA, ...
CGROUP_CTRLS="cpu cpuacct cpuset memory devices freezer blkio pids systemd unified"
KVER_FILE=$LAB/kernel/version
LETTERS=ABCDEFGHIJ                  # up to ten hosts (the fleet benchmark runs ten)
hidx() { local i=${LETTERS%%"$1"*}; [ ${#1} = 1 ] && [ "$i" != "$LETTERS" ] || { echo "bad host $1" >&2; return 1; }; echo $(( ${#i} + 1 )); }
hdir() { echo "$LAB/hosts/host$1"; }
netns() { echo "$PFX-host$1"; }
mgmt_ip() { echo "$MGMT_NET.$(( 10 + $(hidx "$1") ))"; }
gnet_ip() { echo "$GUEST_NET.$(( 10 + $(hidx "$1") ))"; }
host_uuid() { printf '6a3e1b52-7c1d-4e8f-9a0b-%012d\n' "$(hidx "$1")"; }
FABRIC=$PFX-fabric
CLIENT=$PFX-client
ROOT_VETH=$PFX-mgmt
now_ms() { date +%s%3N; }
# hx X cmd...: run a command "on" host X (its net/mount/uts/cgroup namespaces and cgroup subtree)
hx() {
  local h=$1; shift; local n=host$h
  ( for c in $CGROUP_CTRLS; do echo $BASHPID > /sys/fs/cgroup/$c/lab-$PFX-$n/cgroup.procs; done
    exec nsenter --net=/run/netns/$(netns "$h") --mount=$LAB/ns/$n.mnt --uts=$LAB/ns/$n.uts --cgroup=$LAB/ns/$n.cgroup -- "$@" )
}
# cx cmd...: run a command in the client namespace (the "outside world" talking to the guests)
cx() { ip netns exec "$CLIENT" "$@"; }
labssh() { ssh -F "$LAB/keys/ssh_config" -o BatchMode=yes "$@"; }
