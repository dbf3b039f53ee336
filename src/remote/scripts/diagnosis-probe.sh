uuid=$1; uri=$2; peer=$3; dir=${4:-/run/libvirt/qemu}; known_pid=${5:-}
pid=$(want=$uuid awk 'BEGIN {
  for (i = 1; i < ARGC; i++) {
    pid = ""; indom = 0
    while ((getline line < ARGV[i]) > 0) {
      if (pid == "" && line ~ /<domstatus[ \t]/) { pid = line; sub(/.*[ \t]pid=./, "", pid); sub(/[^0-9].*/, "", pid) }
      if (line ~ /<domain[ \t>]/) indom = 1
      if (indom && line ~ /<uuid>/) { sub(/.*<uuid>/, "", line); sub(/<\/uuid>.*/, "", line); if (line == ENVIRON["want"] && pid != "") { print pid; exit } break }
    }
    close(ARGV[i])
  }
}' "$dir"/*.xml)
case $pid in
  ''|0*|*[!0-9]*) pid= ;;
  *) tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | want=$uuid awk 'prev == "-uuid" && $0 == ENVIRON["want"] { ok = 1 } { prev = $0 } END { exit !ok }' || pid= ;;
esac
# a KubeVirt pod's QEMU, by its PID on this node as Ferry's node scan found it (the pod's status files name it in the
# pod's PID namespace): checked by its command line as above
case $known_pid in
  ''|0*|*[!0-9]*) ;;
  *)
    [ -n "$pid" ] || { tr '\0' '\n' <"/proc/$known_pid/cmdline" 2>/dev/null \
      | want=$uuid awk 'prev == "-uuid" && $0 == ENVIRON["want"] { ok = 1 } { prev = $0 } END { exit !ok }' \
      && pid=$known_pid; } ;;
esac
echo "pid=$pid"; echo "clk=$(getconf CLK_TCK)"
if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
  echo "capeff=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$pid/status")"
  echo "memlock=$(awk '/^Max locked memory/ {print $4}' "/proc/$pid/limits")"
  threads() {
    awk 'BEGIN {
      for (i = 1; i < ARGC; i++) {
        s = ""; n = 0
        while ((getline line < ARGV[i]) > 0) s = (n++ ? s "\n" : "") line
        close(ARGV[i])
        lp = index(s, " ("); rp = 0; r = s
        while ((j = index(r, ")")) > 0) { rp += j; r = substr(r, j + 1) }
        if (lp == 0 || rp <= lp || split(substr(s, rp + 2), f, " ") < 13) continue
        name = substr(s, lp + 2, rp - lp - 2); gsub(/[\001-\037\177]/, " ", name)
        printf "thread=%s %.0f %s\n", substr(s, 1, lp - 1), f[12] + f[13], name
      }
    }' /proc/"$pid"/task/*/stat
  }
  threads; sleep 1; echo mark=1; threads
fi
if [ -n "$peer" ]; then
  addr=$(getent hosts "$peer" | awk '{print $1; exit}')
  dev=$(ip -o route get "${addr:-$peer}" 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p')
  if [ -n "$dev" ]; then echo "dev=$dev"; echo "speed=$(cat "/sys/class/net/$dev/speed" 2>/dev/null)"; echo "mtu=$(cat "/sys/class/net/$dev/mtu")"; fi
  # a KubeVirt pod's libvirt (known_pid) is only read, and read-only libvirt refuses this: the cap stays unknown
  [ -n "$known_pid" ] || echo "getspeed=$(virsh -q -c "$uri" migrate-getspeed "$uuid" 2>/dev/null)"
fi
