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
# node) and prints a block only when it differs from the last. What does not change
# while a process lives (a launcher's command line, a daemon's environment) is read once per PID: after the first, a
# scan starts one process (grep), however many pods there are.
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
  unread=''
  statuses=''
  for f in $cands; do
    p=${f#/proc/}
    p=${p%/cmdline}
    comm=''
    { read -r comm < "/proc/$p/comm"; } 2>/dev/null || continue
    case $comm in
      virt-launcher) launchers="$launchers $p" ;;
      virtqemud|libvirtd)
        others="$others $p"
        eval "known=\${restricted_$p:-}"
        [ -n "$known" ] || unread="$unread /proc/$p/environ" ;;
      qemu-system-*|qemu-kvm) others="$others $p" ;;
    esac
  done
  # daemons not seen before: which take only their launcher's PID (one grep for all of them)
  if [ -n "$unread" ]; then
    for f in $unread; do p=${f#/proc/}; eval "restricted_${p%/environ}=0"; done
    # shellcheck disable=SC2086,SC2013 # /proc paths, one a word: no blanks
    for f in $(grep -lsaF LIBVIRT_UNIX_SOCKET_AUTH_PID= $unread); do
      p=${f#/proc/}
      eval "restricted_${p%/environ}=1"
    done
  fi
  # launchers not seen before: their arguments, all read by one awk (NUL-separated records)
  unread=''
  for l in $launchers; do
    eval "known=\${args_$l:-}"
    [ -n "$known" ] || unread="$unread /proc/$l/cmdline"
  done
  if [ -n "$unread" ]; then
    # shellcheck disable=SC2086 # /proc paths: no blanks
    read_args=$(awk -v list="$unread" "$args_awk" </dev/null 2>/dev/null) || true
    while read -r p args; do
      case $p in *[!0-9]*|'') continue ;; esac
      eval "args_$p=\$args"
    done <<EOF
$read_args
EOF
  fi
  for l in $launchers; do
    # a launcher outside this shell's cgroup namespace ("/.." in its path) is another machine's: a node running in a
    # container (the lab's hosts share one kernel) sees its neighbours' processes, which are not its pods
    line=''
    { read -r line < "/proc/$l/cgroup"; } 2>/dev/null || continue
    case $line in *:/..*) continue ;; esac
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
    daemon=- daemon_uid=- restricted=0 qemu=- qemu_uid=- cap=- proxy=0
    for o in $others; do
      # shellcheck disable=SC3013 # -ef: in dash, bash, busybox sh and mksh alike
      [ "/proc/$o/ns/mnt" -ef "/proc/$l/ns/mnt" ] || continue
      comm=''
      { read -r comm < "/proc/$o/comm"; } 2>/dev/null || continue
      uid=- capeff=-
      while read -r key value _; do
        case $key in
          Uid:) uid=$value ;;
          CapEff:) capeff=$value ;;
        esac
      done < "/proc/$o/status"
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
    eval "args=\${args_$l:-}"
    [ -n "$args" ] || continue   # its command line could not be read (the launcher just ended)
    emit "pod $l $layout $daemon $daemon_uid $restricted $qemu $qemu_uid $cap $proxy $args"
    # its domain's status file (libvirt's own record of the running domain), named as KubeVirt names the domain
    if [ "$qemu" != - ] && [ -n "$run" ] && [ ! -L "$run/libvirt/qemu" ] && [ ! -L "$run/libvirt/qemu/run" ]; then
      # shellcheck disable=SC2086 # the checked words of the launcher's arguments
      set -- $args
      case $2$3 in *[!a-z0-9.-]*) ;; *) statuses="$statuses $run/libvirt/qemu/run/${2}_$3.xml" ;; esac
    fi
  done
  # every running domain's UUID, state, vCPUs and memory from its status file, one awk for all (no libvirt call); only
  # regular files (no link, FIFO or device the pod put there) of a status file's size are read
  if [ -n "$statuses" ]; then
    # shellcheck disable=SC2086 # /proc paths: no blanks
    files=$(find $statuses -prune -type f -size -256k 2>/dev/null) || true
    [ -z "$files" ] || emit "$(awk -v list="$files" "$status_awk" </dev/null)"
  fi
  # what was read once per PID goes with the PID
  for p in $cached; do
    case " $launchers $others " in *" $p "*) ;; *) unset "args_$p" "restricted_$p" ;; esac
  done
  cached="$launchers $others"
}
cached=''

# one launcher's arguments a line: PID ARGV0 NAMESPACE NAME UID, each checked against a closed alphabet
# shellcheck disable=SC2016 # awk's own $0
args_awk='
function ok(s) { return s ~ /^[A-Za-z0-9._\/-]+$/ ? s : "-" }
BEGIN {
  RS = "\0"
  n = split(list, files, " ")
  for (i = 1; i <= n; i++) {
    f = files[i]; a0 = ns = nm = uid = prev = ""; k = 0
    while ((getline arg < f) > 0) {
      if (++k == 1) a0 = arg
      else if (prev == "--namespace") ns = arg; else if (prev == "--name") nm = arg; else if (prev == "--uid") uid = arg
      prev = arg
    }
    close(f)
    p = f; sub(/^\/proc\//, "", p); sub(/\/cmdline$/, "", p)
    if (k) print p, ok(a0), ok(ns), ok(nm), ok(uid)
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
  n = split(list, a, "\n")
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
