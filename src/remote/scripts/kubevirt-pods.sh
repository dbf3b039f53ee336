# ferry-kubevirt-pods [INTERVAL_S]: KubeVirt's virt-launcher pods on this node, as root reads them from /proc, never
# entering a pod or executing anything found there. One block per scan, ended by "@scan", one line a pod:
#   pod LAUNCHER LAYOUT DAEMON DAEMON_UID RESTRICTED QEMU QEMU_UID CAP_EFF INCOMING PROXY CMDLINE_HEX
# LAYOUT: where the pod's libvirt socket is under /proc/LAUNCHER/root ("var": var/run/libvirt/virtqemud-sock; "run":
# run/libvirt/…, when var/run is a link, which from the node would resolve in the node's root; "-": none). DAEMON,
# QEMU: the pod's virtqemud (or libvirtd) and QEMU (same mount namespace as the launcher), "-" when none.
# RESTRICTED: the daemon takes only its launcher's PID on its socket (DVP: LIBVIRT_UNIX_SOCKET_AUTH_PID).
# INCOMING: the QEMU waits for an incoming migration. PROXY: virt-handler's migration proxy socket is in the pod (a
# migration out of it is under way). CMDLINE_HEX: the launcher's command line, hex, NUL-separated (read by Ferry).
# With INTERVAL_S, scans again that often and prints a block only when it differs from the last.
LC_ALL=C
export LC_ALL
interval=${1:-0}

scan() {
  cands=$(grep -lsE 'virt-launcher|qemu-system|qemu-kvm|virtqemud|libvirtd' /proc/[0-9]*/cmdline) || true
  launchers=''
  others=''
  for f in $cands; do
    p=${f#/proc/}
    p=${p%/cmdline}
    comm=''
    { read -r comm < "/proc/$p/comm"; } 2>/dev/null || continue
    case $comm in
      virt-launcher) launchers="$launchers $p" ;;
      qemu-system-*|qemu-kvm|virtqemud|libvirtd) others="$others $p" ;;
    esac
  done
  for l in $launchers; do
    # a launcher outside this shell's cgroup namespace ("/.." in its path) is another machine's: a node running in a
    # container (the lab's hosts share one kernel) sees its neighbours' processes, which are not its pods
    line=''
    { read -r line < "/proc/$l/cgroup"; } 2>/dev/null || continue
    case $line in *:/..*) continue ;; esac
    root=/proc/$l/root
    layout=-
    run=''
    if [ -S "$root/var/run/libvirt/virtqemud-sock" ] && [ ! -L "$root/var/run" ]; then layout=var; run=$root/var/run
    elif [ -L "$root/var/run" ] && [ -S "$root/run/libvirt/virtqemud-sock" ]; then layout=run; run=$root/run
    fi
    daemon=- daemon_uid=- restricted=0 qemu=- qemu_uid=- cap=- incoming=0 proxy=0
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
          eval "restricted=\${restricted_$o:-}"
          if [ -z "$restricted" ]; then
            restricted=0
            grep -qsaF LIBVIRT_UNIX_SOCKET_AUTH_PID= "/proc/$o/environ" && restricted=1
            eval "restricted_$o=$restricted"
          fi ;;
        *)
          qemu=$o
          qemu_uid=$uid
          cap=$capeff
          eval "incoming=\${incoming_$o:-}"
          if [ -z "$incoming" ]; then
            incoming=0
            tr '\0' '\n' < "/proc/$o/cmdline" | grep -qx -- -incoming && incoming=1
            eval "incoming_$o=$incoming"
          fi ;;
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
    eval "hex=\${cmdline_$l:-}"
    if [ -z "$hex" ]; then
      hex=$(od -An -v -tx1 "/proc/$l/cmdline" 2>/dev/null | tr -d ' \n')
      [ -n "$hex" ] || continue
      eval "cmdline_$l=$hex"
    fi
    echo "pod $l $layout $daemon $daemon_uid $restricted $qemu $qemu_uid $cap $incoming $proxy $hex"
  done
}

last=''
while :; do
  out=$(scan; echo @scan)
  if [ "$out" != "$last" ]; then
    printf '%s\n' "$out"
    last=$out
  fi
  [ "$interval" = 0 ] && exit 0
  sleep "$interval"
done
