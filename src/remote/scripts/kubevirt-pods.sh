# ferry-kubevirt-pods [INTERVAL_S [IDLE_INTERVAL_S]]: KubeVirt's virt-launcher pods on this node, as root reads them
# from /proc, never entering a pod or executing anything found there. One block per scan, ended by "@scan", one line a pod:
#   pod LAUNCHER LAYOUT DAEMON DAEMON_UID RESTRICTED QEMU QEMU_UID CAP_EFF PROXY ARGV0 NAMESPACE NAME VMI_UID
# LAYOUT: where the pod's libvirt socket is under /proc/LAUNCHER/root ("var": var/run/libvirt/virtqemud-sock; "run":
# run/libvirt/…, when var/run is a link, which from the node would resolve in the node's root; "-": none). DAEMON,
# QEMU: the pod's virtqemud (or libvirtd) and QEMU (same mount namespace as the launcher), "-" when none.
# RESTRICTED: the daemon takes only its launcher's PID on its socket (DVP: LIBVIRT_UNIX_SOCKET_AUTH_PID).
# PROXY: virt-handler's migration proxy socket is in the pod (a migration out of it is under way). ARGV0 …: from the
# launcher's command line (--namespace, --name, --uid), each "-" unless made of [A-Za-z0-9._/-] only.
# With INTERVAL_S, scans again that often (IDLE_INTERVAL_S while the node has no launcher: most hosts are no KubeVirt
# node) and prints a block only when it differs from the last. What does not change while a process lives (a
# launcher's command line, a daemon's environment, a QEMU's uid and capabilities) is read once per PID: the first scan
# starts four processes, each later one three (grep, stat, awk) on a node with launchers and one (grep) on a node
# without, however many pods there are.
LC_ALL=C
export LC_ALL
interval=${1:-0}
idle=${2:-$interval}

# out: the scan's block, built in this shell (a $(…) around scan would lose the caches below with its subshell)
emit() { out="$out$1
"; }

scan() {
  cands=$(grep -lsE 'virt-launcher|qemu-system|qemu-kvm|virtqemud|libvirtd' /proc/[0-9]*/cmdline) || true
  launchers=''
  others=''
  environs=''
  for f in $cands; do
    p=${f#/proc/}
    p=${p%/cmdline}
    comm=''
    { read -r comm < "/proc/$p/comm"; } 2>/dev/null || continue
    case $comm in
      virt-launcher) launchers="$launchers $p" ;;
      virtqemud|libvirtd)
        others="$others $p"
        eval "comm_$p=\$comm"
        eval "known=\${restricted_$p:-}"
        [ -n "$known" ] || { environs="$environs /proc/$p/environ"; eval "restricted_$p=0"; } ;;
      qemu-system-*|qemu-kvm) others="$others $p"; eval "comm_$p=\$comm" ;;
    esac
  done
  # what is read once per PID, for every process not seen before, by one awk: a launcher's arguments, whether a
  # daemon takes only its launcher's PID, a daemon's or QEMU's uid and effective capabilities (once per PID and name:
  # a daemon's forked child becomes QEMU at its exec). This shell would read a status file byte by byte.
  cmdlines=''
  statuses=''
  for l in $launchers; do
    eval "known=\${args_$l:-}"
    [ -n "$known" ] || cmdlines="$cmdlines /proc/$l/cmdline"
  done
  if [ -n "$launchers" ]; then
    for p in $others; do
      seen=''
      eval "seen=\${ids_comm_$p:-} comm=\${comm_$p}"
      [ "$seen" = "$comm" ] || { statuses="$statuses /proc/$p/status"; eval "ids_comm_$p=\$comm"; unset "ids_$p"; }
    done
  fi
  if [ -n "$cmdlines$environs$statuses" ]; then
    read_once=$(awk -v cmdlines="$cmdlines" -v environs="$environs" -v statuses="$statuses" "$once_awk" \
      </dev/null 2>/dev/null) || true
    while read -r what p rest; do
      case $p in *[!0-9]*|'') continue ;; esac
      case $what in
        args) eval "args_$p=\$rest" ;;
        restricted) eval "restricted_$p=\$rest" ;;
        ids) eval "ids_$p=\$rest" ;;
      esac
    done <<EOF
$read_once
EOF
  fi
  # each launcher of this machine: where its pod's socket and domain status file are
  pods=''
  paths=''
  for l in $launchers; do
    # a launcher outside this shell's cgroup namespace ("/.." in its path) is another machine's: a node running in a
    # container (the lab's hosts share one kernel) sees its neighbours' processes, which are not its pods
    line=''
    { read -r line < "/proc/$l/cgroup"; } 2>/dev/null || continue
    case $line in *:/..*) continue ;; esac
    eval "args=\${args_$l:-}"
    [ -n "$args" ] || continue   # its command line could not be read (the launcher just ended)
    pods="$pods $l"
    paths="$paths /proc/$l/ns/mnt"
    root=/proc/$l/root
    layout=-
    run=''
    # nothing on the way to the socket may be a link of the pod's (an absolute one would resolve in this node's root),
    # but /var/run itself, which is then read as run/ under the pod's root
    if [ ! -L "$root/var/run" ]; then run=$root/var/run; layout=var; else run=$root/run; layout=run; fi
    if [ -L "$run" ] || [ -L "$run/libvirt" ] || [ -L "$run/libvirt/virtqemud-sock" ] \
      || [ ! -S "$run/libvirt/virtqemud-sock" ]; then
      layout=-
      run=''
    fi
    eval "layout_$l=\$layout run_$l=\$run"
    # its domain's status file (libvirt's own record of the running domain), named as KubeVirt names the domain
    if [ -n "$run" ] && [ ! -L "$run/libvirt/qemu" ] && [ ! -L "$run/libvirt/qemu/run" ]; then
      # shellcheck disable=SC2086 # the checked words of the launcher's arguments
      set -- $args
      case $2$3 in
        *[!a-z0-9.-]*) ;;
        *) [ -L "$run/libvirt/qemu/run/${2}_$3.xml" ] || paths="$paths $run/libvirt/qemu/run/${2}_$3.xml" ;;
      esac
    fi
  done
  # one stat for all: every process's mount namespace (a pod's processes are those in its launcher's), and each
  # status file's type and size (only a regular file of a status file's size is read: no FIFO or device of the pod's)
  for p in $others; do paths="$paths /proc/$p/ns/mnt"; done
  stats=''
  # shellcheck disable=SC2086 # /proc paths: no blanks
  [ -z "$pods" ] || stats=$(stat -L -c '%i %f %s %n' $paths 2>/dev/null) || true
  while read -r inode mode size f; do
    case $inode$size in *[!0-9]*|'') continue ;; esac
    p=${f#/proc/}
    case $f in
      /proc/*/ns/mnt)
        p=${p%/ns/mnt}
        eval "mnt_$p=\$inode"
        case " $others " in
          *" $p "*) eval "members_$inode=\"\${members_$inode:-} \$p\""; member_mnts="$member_mnts $inode" ;;
        esac ;;
      *) case $mode in 81??) [ "$size" -ge 262144 ] || eval "status_${p%%/*}=\$f" ;; esac ;;
    esac
  done <<EOF
$stats
EOF
  files=''
  for l in $pods; do
    daemon=- daemon_uid=- restricted=0 qemu=- qemu_uid=- cap=- proxy=0
    mnt='' members='' run=''
    eval "mnt=\${mnt_$l:-} layout=\${layout_$l} run=\${run_$l} args=\${args_$l}"
    [ -n "$mnt" ] || continue   # ended since the scan began
    eval "members=\${members_$mnt:-}"
    for o in $members; do
      eval "comm=\${comm_$o} ids=\${ids_$o:-}"
      [ -n "$ids" ] || continue   # ended since the scan began
      uid=${ids% *}
      capeff=${ids#* }
      case $comm in
        virtqemud|libvirtd)
          daemon=$o
          daemon_uid=$uid
          eval "restricted=\${restricted_$o:-0}" ;;
        *)
          qemu=$o
          qemu_uid=$uid
          cap=$capeff ;;
      esac
    done
    if [ -n "$run" ]; then
      for s in "$run"/kubevirt/migrationproxy/*-source.sock; do
        case $s in
          *-[0-9][0-9][0-9][0-9][0-9]-source.sock) ;;
          *) [ -S "$s" ] && proxy=1 ;;
        esac
      done
    fi
    emit "pod $l $layout $daemon $daemon_uid $restricted $qemu $qemu_uid $cap $proxy $args"
    if [ "$qemu" != - ]; then eval "files=\"\$files \${status_$l:-}\""; fi
  done
  # every running domain's UUID, state, vCPUs and memory from its status file, one awk for all (no libvirt call)
  case $files in *[!\ ]*) emit "$(awk -v list="$files" "$status_awk" </dev/null)" ;; esac
  # what is read each scan goes with it (a process may enter another mount namespace)
  for p in $launchers $others; do unset "mnt_$p" "comm_$p" "layout_$p" "run_$p" "status_$p"; done
  for mnt in $member_mnts; do unset "members_$mnt"; done
  member_mnts=''
  # what was read once per PID goes with the PID
  for p in $cached; do
    case " $launchers $others " in
      *" $p "*) ;;
      *) unset "args_$p" "restricted_$p" "ids_$p" "ids_comm_$p" ;;
    esac
  done
  cached="$launchers $others"
}
cached=''
member_mnts=''

# Read once per PID, one line each: "args PID ARGV0 NAMESPACE NAME UID" per launcher's cmdline (each word "-" unless
# of a closed alphabet); "restricted PID 0|1" per daemon's environ (1: LIBVIRT_UNIX_SOCKET_AUTH_PID is set); "ids PID
# UID CAP_EFF" per /proc/PID/status (each "-" unless a number). A file gone meanwhile gives no line.
# shellcheck disable=SC2016 # awk's own variables
once_awk='
function ok(s) { return s ~ /^[A-Za-z0-9._\/-]+$/ ? s : "-" }
function pid(f) { sub(/^\/proc\//, "", f); sub(/\/.*$/, "", f); return f }
BEGIN {
  RS = "\0"
  n = split(cmdlines, files, " ")
  for (i = 1; i <= n; i++) {
    f = files[i]; a0 = ns = nm = uid = prev = ""; k = 0
    while ((getline arg < f) > 0) {
      if (++k == 1) a0 = arg
      else if (prev == "--namespace") ns = arg; else if (prev == "--name") nm = arg; else if (prev == "--uid") uid = arg
      prev = arg
    }
    close(f)
    if (k) print "args", pid(f), ok(a0), ok(ns), ok(nm), ok(uid)
  }
  n = split(environs, files, " ")
  for (i = 1; i <= n; i++) {
    f = files[i]; r = 0; k = 0
    while ((getline v < f) > 0) { k++; if (index(v, "LIBVIRT_UNIX_SOCKET_AUTH_PID=") == 1) r = 1 }
    close(f)
    if (k) print "restricted", pid(f), r
  }
  RS = "\n"
  n = split(statuses, files, " ")
  for (i = 1; i <= n; i++) {
    f = files[i]; uid = cap = "-"; k = 0
    while ((getline line < f) > 0) {
      k++
      if (line ~ /^Uid:/) { split(line, w, /[ \t]+/); uid = w[2] ~ /^[0-9]+$/ ? w[2] : "-" }
      else if (line ~ /^CapEff:/) { split(line, w, /[ \t]+/); cap = w[2] ~ /^[0-9a-f]+$/ ? w[2] : "-" }
    }
    close(f)
    if (k) print "ids", pid(f), uid, cap
  }
}'
# "dom LAUNCHER UUID STATE REASON VCPUS MEMORY_KIB" per status file of `list` (/proc/LAUNCHER/root/…). Read with
# getline (a file gone meanwhile is skipped); the domain's elements are its children at four spaces, the first of
# each (libvirt writes them in this order; metadata, nested deeper, cannot pose as one).
# shellcheck disable=SC2016 # awk's own variables
status_awk='
function word(s, re) { return s ~ re ? s : "-" }
function is_uuid(u,  i, c) {
  if (length(u) != 36) return 0
  for (i = 1; i <= 36; i++) {
    c = substr(u, i, 1)
    if (i == 9 || i == 14 || i == 19 || i == 24) { if (c != "-") return 0 }
    else if (!index("0123456789abcdef", c)) return 0
  }
  return 1
}
function attr(s, name) {
  if (!match(s, " " name "=\047[^\047]*\047")) return ""
  return substr(s, RSTART + length(name) + 3, RLENGTH - length(name) - 4)
}
function inner(s) { sub(/^[^>]*>/, "", s); sub(/<.*$/, "", s); return s }
BEGIN {
  n = split(list, a, " ")
  for (i = 1; i <= n; i++) {
    f = a[i]; st = rs = uuid = vcpu = mem = ""; indom = 0
    l = f; sub(/^\/proc\//, "", l); sub(/\/.*/, "", l)
    while ((getline line < f) > 0) {
      if (!indom && line ~ /^<domstatus /) { st = attr(line, "state"); rs = attr(line, "reason") }
      else if (!indom && line ~ /^  <domain /) indom = 1
      else if (indom && line ~ /^    <uuid>/ && uuid == "") uuid = inner(line)
      else if (indom && line ~ /^    <memory / && mem == "") mem = inner(line)
      else if (indom && line ~ /^    <vcpu[ >]/ && vcpu == "") {
        vcpu = attr(line, "current")
        if (vcpu == "") vcpu = inner(line)
      }
      else if (line ~ /^  <\/domain>/) break
    }
    close(f)
    if (st != "")
      print "dom", l, (is_uuid(uuid) ? uuid : "-"), word(st, "^[a-z]+$"), word(rs, "^[a-z-]+$"),
        word(vcpu, "^[0-9]+$"), word(mem, "^[0-9]+$")
  }
}'
last=''
while :; do
  out=''
  scan
  out="$out@scan"
  if [ "$out" != "$last" ]; then
    printf '%s\n' "$out"
    last=$out
  fi
  [ "$interval" = 0 ] && exit 0
  case $out in
    pod*) sleep "$interval" ;;
    *) sleep "$idle" ;;
  esac
done
