uuid=$1; dir=${2:-/run/libvirt/qemu}
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
[ -n "$pid" ] || exit 0
grep '^CapEff:' "/proc/$pid/status"; grep '^Max locked memory' "/proc/$pid/limits"
