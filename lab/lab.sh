#!/bin/bash
# shellcheck disable=SC2046 # $(netns …), $(hdir …), $(gnet_ip …), $(now_ms): the lab's own names and numbers, no blanks or globs
# Ferry's local hypervisor lab: N hosts, each a network namespace with its own mount/UTS/cgroup namespaces
# running sshd + libvirtd, a management network, a shared guest L2, a client namespace and tiny TCG guests.
#   lab.sh up | down | status | populate N | unpopulate | libvirtd stop|start X | ct strict|loose
#   lab.sh kubevirt pod|migrate|delete|list|clear …: KubeVirt-like virt-launcher pods on the hosts (kubevirt.sh)
# Env: LAB (state dir, default /var/lib/ferry-lab), LAB_HOSTS ("A B C"), LAB_MGMT_NET (10.0.0),
#      LAB_GUEST_NET (10.0.1), LAB_CT (strict|loose|none).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
T0=$(now_ms); ts() { echo "[lab] $* ($(( $(now_ms) - T0 )) ms)"; }
# A domain name that no shell may interpret: spaces, both quote kinds, $(...), a backtick, non-ASCII.
HOSTILE_NAME='evil '"'"'one'"'"' "two" $(touch ferry-pwned) `touch ferry-pwned2` čaj ü'

host_ok() { labssh "host$1" virsh -q -c qemu:///system uri >/dev/null 2>&1; }
any_remnant() {
  [ -e /run/netns/$FABRIC ] || [ -e /run/netns/$CLIENT ] || ip link show $ROOT_VETH >/dev/null 2>&1 || mountpoint -q $LAB/ns && return 0
  for h in $(made_hosts); do [ -e /run/netns/$(netns $h) ] && return 0; done; return 1
}

check_addresses() {
  # the lab's /24s must not overlap any route or address the machine already has (other than our own)
  python3 - "$MGMT_NET.0/24" "$GUEST_NET.0/24" "$ROOT_VETH" <<'PY'
import ipaddress, subprocess, sys
mine = [ipaddress.ip_network(n) for n in sys.argv[1:3]]
if mine[0].overlaps(mine[1]): sys.exit(f"lab: LAB_MGMT_NET and LAB_GUEST_NET overlap ({mine[0]}, {mine[1]})")
out = subprocess.run(['ip', '-4', '-o', 'route', 'show', 'table', 'all'], capture_output=True, text=True).stdout
for line in out.splitlines():
    f = line.split()
    dst = f[0] if f[0] not in ('local', 'broadcast', 'unicast') else f[1]
    if dst == 'default' or f' dev {sys.argv[3]} ' in f' {line} ': continue
    try: net = ipaddress.ip_network(dst, strict=False)
    except ValueError: continue
    if net.prefixlen == 32 and net.network_address.is_loopback: continue
    for m in mine:
        if m.overlaps(net) and not net.network_address.is_loopback:
            sys.exit(f"lab: {m} collides with the machine's route '{line.strip()}'; pick other ranges with LAB_MGMT_NET / LAB_GUEST_NET")
PY
}

write_nft() {
  local g=$GUEST_NET.96/27
  cat > $LAB/host-ct-strict.nft <<NFT
# Stateful "security group" for the guests ($g) on a lab host (bridged guests + br_netfilter). With
# net.netfilter.nf_conntrack_tcp_loose=0 a host WITHOUT a flow's conntrack entry drops mid-stream packets of an
# existing TCP connection (state INVALID): what conntrack sync during a migration must prevent.
table inet labct {
  chain forward_ct {
    type filter hook forward priority 0; policy accept;
    ip daddr $g ct state established,related counter accept
    ip daddr $g ct state new tcp flags & (syn|ack) == syn counter accept
    ip daddr $g ct state new ip protocol icmp counter accept
    ip daddr $g counter drop
  }
}
NFT
  cat > $LAB/host-ct-loose.nft <<NFT
# Any rule using conntrack registers conntrack hooks in the netns; with br_netfilter the bridged guest traffic
# then passes the IPv4 hooks and is tracked. Accept-only.
table inet labct {
  chain forward_ct {
    type filter hook forward priority 0; policy accept;
    ct state established,related counter accept
    ct state new counter accept
  }
}
NFT
}

write_lab_json() {
  python3 - "$LAB" "$MGMT_NET" "$GUEST_NET" "$CLIENT" "$HOSTILE_NAME" "$LOGIN_SHELLS" "$GUESTS" $HOSTS <<'PY' > $LAB/lab.json
import json, sys
lab, mgmt, guest, client, hostile, login_shells, guests, *hosts = sys.argv[1:]
idx = {h: 'ABCDEFGHIJ'.index(h) + 1 for h in hosts}
print(json.dumps({
  # Ferry logs in as 'ferry' (uid 0) whose login shell differs per host; the tests' "other shell" is root (bash)
  'lab': lab, 'sshConfig': f'{lab}/keys/ferry_ssh_config', 'rootSshConfig': f'{lab}/keys/ssh_config',
  'knownHosts': f'{lab}/keys/known_hosts',
  'loginShells': {h: shell for h, shell in (x.split(':') for x in login_shells.split())},
  'identity': f'{lab}/keys/id_ed25519', 'clientNetns': client, 'guestNet': guest, 'mgmtNet': mgmt,
  'hosts': [{'alias': f'host{h}', 'letter': h, 'address': f'{mgmt}.{10 + idx[h]}',
             'uuid': f'6a3e1b52-7c1d-4e8f-9a0b-{idx[h]:012d}'} for h in hosts],
  'guests': {} if guests == 'none' else {'tiny1': {'host': 'hostA', 'ip': f'{guest}.100'}},
  'hostileDomain': {'name': hostile, 'host': 'hostA', 'ip': f'{guest}.101'},
}, indent=2, ensure_ascii=False))
PY
}

up() {
  "$LAB_SRC/install-deps.sh" >/dev/null
  "$LAB_SRC/guest/build.sh"
  ts "dependencies and guest image ready"
  if [ -s $LAB/lab.json ]; then
    local all=1; for h in $HOSTS; do host_ok $h || { all=0; break; }; done
    [ "$(running_hosts | tr '\n' ' ')" = "$(echo $HOSTS | tr ' ' '\n' | sort | tr '\n' ' ')" ] || all=0   # another set of hosts is up
    local with; grep -q '"tiny1"' $LAB/lab.json && with=tiny1 || with=none
    [ "$with" = "$GUESTS" ] || all=0                                   # with or without the guest, as asked
    [ -x $LAB/shim/tc ] || all=0                                       # the hosts' libvirtd runs the tc shim from there
    if [ $all = 1 ]; then ts "already up"; status; return; fi
  fi
  if any_remnant; then echo "[lab] found a half-up lab; tearing it down first"; down; fi
  check_addresses
  mkdir -p $LAB/ns $LAB/keys $LAB/hosts
  mountpoint -q $LAB/ns || { mount --bind $LAB/ns $LAB/ns; mount --make-private $LAB/ns; }   # ns files need a private mount
  # postcopy: QEMU runs as libvirt-qemu and needs userfaultfd. A kernel with /dev/userfaultfd (5.11+) lets each host
  # give its QEMU a node of its own (host-ns-setup.sh); only a kernel without it needs the machine-wide sysctl, which
  # down restores
  if [ ! -c /dev/userfaultfd ]; then
    [ -f $LAB/.uffd-orig ] || sysctl -n vm.unprivileged_userfaultfd > $LAB/.uffd-orig
    sysctl -qw vm.unprivileged_userfaultfd=1
  fi
  [ -f $LAB/keys/id_ed25519 ] || ssh-keygen -q -t ed25519 -N '' -C ferry-lab-workstation -f $LAB/keys/id_ed25519
  [ -f $LAB/keys/cluster_ed25519 ] || ssh-keygen -q -t ed25519 -N '' -C ferry-lab-cluster -f $LAB/keys/cluster_ed25519
  write_nft
  # what the running lab needs lives in its own folder, not in the checkout that brought it up
  rm -rf $LAB/shim; cp -r "$LAB_SRC/shim" $LAB/shim
  say_kvm

  : > $LAB/hosts/not-an-emulator; chmod 600 $LAB/hosts/not-an-emulator
  ip netns add $FABRIC; ip -n $FABRIC link set lo up
  for b in br-mgmt br-guest; do ip -n $FABRIC link add $b type bridge; ip -n $FABRIC link set $b up; done
  ip link add $ROOT_VETH type veth peer name root-m netns $FABRIC      # the root namespace is the workstation
  ip addr add $MGMT_NET.1/24 dev $ROOT_VETH; ip link set $ROOT_VETH up
  ip -n $FABRIC link set root-m master br-mgmt up
  ip netns add $CLIENT; ip -n $CLIENT link set lo up
  ip -n $CLIENT link add eth0 type veth peer name cli-g netns $FABRIC
  ip -n $CLIENT addr add $GUEST_NET.200/24 dev eth0; ip -n $CLIENT link set eth0 up
  ip -n $FABRIC link set cli-g master br-guest up

  : > $LAB/keys/known_hosts
  { echo "127.0.0.1 localhost"; for h in $HOSTS; do echo "$(mgmt_ip $h) host$h"; done; } > $LAB/keys/etc-hosts
  cat > $LAB/keys/ssh_config <<SSH
# Ferry lab hosts.  ssh -F $LAB/keys/ssh_config hostA virsh list --all
SSH
  for h in $HOSTS; do printf 'Host host%s\n  HostName %s\n' $h "$(mgmt_ip $h)" >> $LAB/keys/ssh_config; done
  cat >> $LAB/keys/ssh_config <<SSH
Host host* $MGMT_NET.*
  User root
  IdentityFile $LAB/keys/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $LAB/keys/known_hosts
  StrictHostKeyChecking yes
SSH
  # Ferry's own: the same hosts, as user 'ferry', whose login shell is bash on one host, fish and tcsh on the others
  sed 's/^  User root$/  User ferry/; s/^# Ferry lab hosts.*/# Ferry lab hosts, as Ferry logs in (user ferry, uid 0; login shells: '"$LOGIN_SHELLS"')/' \
    $LAB/keys/ssh_config > $LAB/keys/ferry_ssh_config

  for h in $HOSTS; do
    local n=host$h H; H=$(hdir $h); local ip; ip=$(mgmt_ip $h); local ns; ns=$(netns $h)
    rm -rf $H; mkdir -p $H/run $H/ssh $H/root-home/.ssh
    # only the daemons' settings and built-in filters: none of the machine's domains, networks, secrets or autostart
    mkdir -p $H/etc-libvirt; find /etc/libvirt -maxdepth 1 -type f -exec cp -a {} $H/etc-libvirt/ \;
    [ -d /etc/libvirt/nwfilter ] && cp -a /etc/libvirt/nwfilter $H/etc-libvirt/
    # the folders libvirt keeps its state in, empty (no images, saves or caches of the machine's own)
    dirs_of /var/lib/libvirt $H/var-lib-libvirt; dirs_of /var/cache/libvirt $H/var-cache-libvirt
    mkdir -p $H/var-log-libvirt/qemu $H/var-lib-libvirt/boot
    # seed libvirt's QEMU capability cache (same machine and binaries, so valid for every host): saves ~25 s
    if [ -d $LAB/cache-seed ]; then mkdir -p $H/var-cache-libvirt/qemu/capabilities; cp $LAB/cache-seed/*.xml $H/var-cache-libvirt/qemu/capabilities/ 2>/dev/null || true; fi
    cp $LAB/keys/etc-hosts $H/etc-hosts; echo $n > $H/etc-hostname
    # user 'ferry': root's uid and home, this host's login shell (own passwd/shadow, bind-mounted in its namespace)
    local shell; shell=$(login_shell $h)
    { grep -v '^ferry:' /etc/passwd; echo "ferry:x:0:0:Ferry lab login:/root:$shell"; } > $H/etc-passwd
    # no password is needed (keys only): the lab's shadow holds its two logins, locked to passwords, and no hash of the machine's
    printf 'root:*:20000:0:99999:7:::\nferry:*:20000:0:99999:7:::\n' > $H/etc-shadow; chmod 640 $H/etc-shadow
    printf '\n# ---- ferry lab ----\nhost_uuid = "%s"\nlog_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n' "$(host_uuid $h)" >> $H/etc-libvirt/libvirtd.conf
    # no virtlogd without systemd; no private /dev per QEMU (it cannot copy the /dev/kvm bind mount); libvirt's
    # device list and /dev/userfaultfd, which QEMU opens before asking for the syscall
    printf '\n# ---- ferry lab ----\nstdio_handler = "file"\nnamespaces = []\n%s\n' \
      'cgroup_device_acl = [ "/dev/null", "/dev/full", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/ptmx", "/dev/kvm", "/dev/userfaultfd" ]' \
      >> $H/etc-libvirt/qemu.conf
    # the guest boot files at the same path on every host, as migration needs
    cp $LAB/guest/vmlinux $H/var-lib-libvirt/boot/tiny-vmlinux
    cp $LAB/guest/initramfs.cpio.gz $H/var-lib-libvirt/boot/tiny-initrd.gz
    ssh-keygen -q -t ed25519 -N '' -C $n -f $H/ssh/ssh_host_ed25519_key
    # a second host key (ECDSA, not in known_hosts): Ferry must ask for the type known_hosts holds, as ssh does
    ssh-keygen -q -t ecdsa -N '' -C $n -f $H/ssh/ssh_host_ecdsa_key
    cat $LAB/keys/id_ed25519.pub $LAB/keys/cluster_ed25519.pub > $H/root-home/.ssh/authorized_keys
    cp $LAB/keys/cluster_ed25519 $H/root-home/.ssh/id_ed25519; cp $LAB/keys/cluster_ed25519.pub $H/root-home/.ssh/id_ed25519.pub
    chmod 700 $H/root-home $H/root-home/.ssh; chmod 600 $H/root-home/.ssh/*
    echo "$n,$ip $(cut -d' ' -f1,2 $H/ssh/ssh_host_ed25519_key.pub)" >> $LAB/keys/known_hosts
    cat > $H/ssh/sshd_config <<SSHD
Port 22
ListenAddress $ip
HostKey $H/ssh/ssh_host_ed25519_key
HostKey $H/ssh/ssh_host_ecdsa_key
PidFile $H/run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
MaxStartups 100:30:200
MaxSessions 50
SSHD
    ip netns add $ns; ip -n $ns link set lo up
    ip -n $ns link add eth0 type veth peer name $n-m netns $FABRIC
    ip -n $ns addr add $ip/24 dev eth0; ip -n $ns link set eth0 up
    ip -n $FABRIC link set $n-m master br-mgmt up
    ip -n $ns link add br0 type bridge
    ip -n $ns link add eth1 type veth peer name $n-g netns $FABRIC
    ip -n $ns link set eth1 master br0 up
    ip -n $FABRIC link set $n-g master br-guest up
    ip -n $ns addr add $(gnet_ip $h)/24 dev br0; ip -n $ns link set br0 up
    for c in $CGROUP_CTRLS; do mkdir -p /sys/fs/cgroup/$c/lab-$PFX-$n; done
    cat /sys/fs/cgroup/cpuset/cpuset.cpus > /sys/fs/cgroup/cpuset/lab-$PFX-$n/cpuset.cpus
    cat /sys/fs/cgroup/cpuset/cpuset.mems > /sys/fs/cgroup/cpuset/lab-$PFX-$n/cpuset.mems
    touch $LAB/ns/$n.mnt $LAB/ns/$n.uts $LAB/ns/$n.cgroup
    ( for c in $CGROUP_CTRLS; do echo $BASHPID > /sys/fs/cgroup/$c/lab-$PFX-$n/cgroup.procs; done
      exec nsenter --net=/run/netns/$ns -- unshare --mount=$LAB/ns/$n.mnt --uts=$LAB/ns/$n.uts \
           --cgroup=$LAB/ns/$n.cgroup --propagation private "$LAB_SRC/host-ns-setup.sh" $h )
  done
  for h in $HOSTS; do cp $LAB/keys/known_hosts $(hdir $h)/root-home/.ssh/known_hosts; done   # hosts ssh to each other for migration
  ts "namespaces ready"

  for h in $HOSTS; do
    local H; H=$(hdir $h)
    hx $h /usr/sbin/sshd -f $H/ssh/sshd_config -E $H/var-log-libvirt/sshd.log
    # tc shim first in PATH: this sandbox kernel lacks sch_sfq/act_police/cls_fw that domiftune uses
    PATH=$LAB/shim:$PATH hx $h /usr/sbin/libvirtd -d -p $H/run/libvirtd.pid
    case $CT_MODE in
      strict) hx $h nft -f $LAB/host-ct-strict.nft; hx $h sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 ;;
      loose)  hx $h nft -f $LAB/host-ct-loose.nft ;;
    esac
  done
  for h in $HOSTS; do
    for i in $(seq 1 300); do host_ok $h && break; sleep 0.1; done
    host_ok $h || { echo "[lab] host$h does not answer; see $(hdir $h)/var-log-libvirt/"; exit 1; }
  done
  ts "hosts up: $(echo $HOSTS)"
  mkdir -p $LAB/cache-seed; cp $(hdir ${HOSTS%% *})/var-cache-libvirt/qemu/capabilities/*.xml $LAB/cache-seed/ 2>/dev/null || true

  write_lab_json
  if [ "$GUESTS" = none ]; then status; return; fi
  # the demo guest, running on the first host, and the hostile-named domain beside it, shut off
  local first=${HOSTS%% *}
  "$LAB_SRC/domain-xml.sh" tiny1 100 | labssh host$first 'virsh -q define /dev/stdin >/dev/null && virsh -q start tiny1 >/dev/null'
  "$LAB_SRC/domain-xml.sh" "$HOSTILE_NAME" 101 256 | labssh host$first 'virsh -q define /dev/stdin >/dev/null'
  ts "guest tiny1 started"
  wait_guest $GUEST_NET.100 60
  ts "guest tiny1 answers on $GUEST_NET.100"
  status
}

dirs_of() {  # dirs_of SRC DST: SRC's folders (owners, modes) under DST, none of its files
  mkdir -p "$2"; (cd "$1" && find . -type d -print0 | tar --null --no-recursion -T - -cf -) | tar -C "$2" -xpf -
}

say_kvm() {  # one line: which /dev/kvm this machine has (the guests run under TCG on every kind)
  local module='' m; for m in kvm_pvm kvm_intel kvm_amd; do [ -d /sys/module/$m ] && { module=$m; break; }; done
  if [ ! -e /dev/kvm ]; then echo "[lab] no /dev/kvm on this machine: guests run under TCG"
  elif [ "$module" = kvm_pvm ]; then echo "[lab] /dev/kvm is nested PVM (kvm_pvm), which cannot boot the guests: hidden from the hosts, guests run under TCG"
  else echo "[lab] /dev/kvm found (${module:-module unknown}): hidden from the hosts, guests run under TCG as on every machine"; fi
}

wait_guest() {  # wait_guest IP TIMEOUT_S: until the guest's HTTP status page answers from the client namespace
  local end=$(( $(now_ms) + $2 * 1000 ))
  until cx timeout 2 busybox wget -qO- "http://$1/cgi-bin/status" >/dev/null 2>&1; do
    [ $(now_ms) -lt $end ] || { echo "[lab] guest $1 not answering after $2 s"; return 1; }; sleep 0.2
  done
}

# the hosts up now (by their network namespaces), whatever LAB_HOSTS says (a fleet of ten, then the default three)
running_hosts() { ip netns list | sed -n "s/^$PFX-host\([$LETTERS]\)\b.*/\1/p" | sort -u; }
made_hosts() { { echo $HOSTS | tr ' ' '\n'; running_hosts; } | grep -x "[$LETTERS]" | sort -u; }

down() {
  mkdir -p $LAB/cache-seed; cp $(hdir ${HOSTS%% *})/var-cache-libvirt/qemu/capabilities/*.xml $LAB/cache-seed/ 2>/dev/null || true
  for h in $(made_hosts); do
    local n=host$h H; H=$(hdir $h)
    if [ -e $LAB/ns/$n.mnt ] && mountpoint -q $LAB/ns/$n.mnt 2>/dev/null && [ -e /run/netns/$(netns $h) ]; then
      for u in $(hx $h virsh -q -c qemu:///system list --uuid 2>/dev/null); do hx $h virsh -q -c qemu:///system destroy $u >/dev/null 2>&1 || true; done
    fi
    for p in libvirtd sshd; do
      if [ -f $H/run/$p.pid ]; then local pid; pid=$(cat $H/run/$p.pid); kill $pid 2>/dev/null || true
        for i in $(seq 1 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done; rm -f $H/run/$p.pid; fi
    done
    # anything left in this host's cgroup subtree (a QEMU, a hx'd command) is ours: end it by PID
    # shellcheck disable=SC2044 # cgroup.procs hold pids, one a line: plain words
    for pid in $(find /sys/fs/cgroup/pids/lab-$PFX-$n -name cgroup.procs -exec cat {} + 2>/dev/null); do kill $pid 2>/dev/null || true; done
    sleep 0.2
    # shellcheck disable=SC2044 # cgroup.procs hold pids, one a line: plain words
    for pid in $(find /sys/fs/cgroup/pids/lab-$PFX-$n -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -9 $pid 2>/dev/null || true; done
    for f in mnt uts cgroup; do umount $LAB/ns/$n.$f 2>/dev/null || true; rm -f $LAB/ns/$n.$f; done
    [ -e /run/netns/$(netns $h) ] && ip netns del $(netns $h)
    for c in $CGROUP_CTRLS; do
      [ -d /sys/fs/cgroup/$c/lab-$PFX-$n ] && find /sys/fs/cgroup/$c/lab-$PFX-$n -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
    case " $HOSTS " in *" $h "*) ;; *) rm -rf "$H" ;; esac   # a host beyond this lab's own (a fleet's): its state goes too
  done
  ip link del $ROOT_VETH 2>/dev/null || true
  mountpoint -q $LAB/ns && umount $LAB/ns
  if [ -f $LAB/.uffd-orig ]; then sysctl -qw vm.unprivileged_userfaultfd=$(cat $LAB/.uffd-orig); rm -f $LAB/.uffd-orig; fi
  for n in $CLIENT $FABRIC; do [ -e /run/netns/$n ] && ip netns del $n; done
  rm -f $LAB/hosts/*/qemu-upgraded   # "upgraded" emulators of the hot-upgrade tests (their mounts died with the hosts)
  rm -f $LAB/lab.json
  ts "down"
}

status() {
  for h in $HOSTS; do
    if [ -e /run/netns/$(netns $h) ] && host_ok $h; then
      echo "host$h $(mgmt_ip $h) up: $(labssh host$h "virsh -q list --all | wc -l") domains, $(labssh host$h "virsh -q list | wc -l") running"
    else echo "host$h $(mgmt_ip $h) down"; fi
  done
  [ -s $LAB/lab.json ] && echo "ssh config: $LAB/keys/ssh_config   lab description: $LAB/lab.json"
}

populate() {  # populate N: N shut-off domains per host (bench-0001 ...), defined through one virsh per host, hosts at once
  local count=$1 template; template=$("$LAB_SRC/domain-xml.sh" @NAME@ 96 128)
  for h in $HOSTS; do
    local dir; dir=$(mktemp -d /tmp/ferry-populate-XXXXXX)
    for i in $(seq 1 $count); do printf -v name 'bench-%04d' $i; echo "${template//@NAME@/$name}" > $dir/$i.xml; done
    hx $h bash -c "for f in $dir/*.xml; do echo \"define \$f\"; done | virsh -q -c qemu:///system >/dev/null; rm -rf $dir" &
  done
  wait
  ts "defined $count domains on each of: $(echo $HOSTS)"
}
unpopulate() {
  for h in $HOSTS; do
    hx $h bash -c 'virsh -q -c qemu:///system list --all --name | grep "^bench-" | sed "s/^/undefine /" | virsh -q -c qemu:///system >/dev/null' &
  done
  wait
  ts "removed the bench-* domains"
}

libvirtd_ctl() {  # libvirtd stop|start|freeze|thaw X: for tests of a host whose libvirt is down or hung
  local H; H=$(hdir $2)
  case $1 in
    freeze) kill -STOP "$(cat $H/run/libvirtd.pid)" ;;
    thaw) kill -CONT "$(cat $H/run/libvirtd.pid)" ;;
    stop) if [ -f $H/run/libvirtd.pid ]; then local pid; pid=$(cat $H/run/libvirtd.pid); kill $pid 2>/dev/null || true
            for i in $(seq 1 150); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done; fi ;;
    start) host_ok $2 && return 0
           PATH=$LAB/shim:$PATH hx $2 /usr/sbin/libvirtd -d -p $H/run/libvirtd.pid
           for i in $(seq 1 100); do host_ok $2 && break; sleep 0.1; done ;;
  esac
}

ct_mode() {  # ct strict|loose: reload every host's conntrack ruleset
  write_nft
  for h in $HOSTS; do
    hx $h nft delete table inet labct 2>/dev/null || true
    case $1 in
      strict) hx $h nft -f $LAB/host-ct-strict.nft; hx $h sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 ;;
      loose) hx $h nft -f $LAB/host-ct-loose.nft; hx $h sysctl -qw net.netfilter.nf_conntrack_tcp_loose=1 ;;
      *) echo "ct strict|loose"; return 2 ;;
    esac
  done
}

case ${1:-} in
  up) up ;;
  ct) ct_mode "${2:?strict|loose}" ;;
  libvirtd) libvirtd_ctl "${2:?stop|start|freeze|thaw}" "${3:?host letter}" ;;
  kubevirt) shift; exec "$LAB_SRC/kubevirt.sh" "$@" ;;
  down) "$LAB_SRC/kubevirt.sh" clear 2>/dev/null || true; down ;;
  status) status ;;
  populate) populate "${2:?populate N}" ;;
  unpopulate) unpopulate ;;
  *) echo "usage: lab.sh up|down|status|populate N|unpopulate|libvirtd stop|start|freeze|thaw X|ct strict|loose|kubevirt …"; exit 2 ;;
esac
