# ferry-conntrack-gate ADDRESS…: the switchover gate's two listings on the source (remote/conntrack.ts says how).
# shellcheck disable=SC2086 # $lines is empty or "-W interactive", two words: split on purpose
for a; do set -- "$@" -e "src=$a " -e "dst=$a "; shift; done; list() { conntrack -L -o extended 2>/dev/null | grep -F "$@"; }; exec 3<&0
err=$(mktemp)
trap 'rm -f "$err"' EXIT
lines=
case $(awk -W version 2>&1) in *mawk*) lines="-W interactive" ;; esac
# a flow of Ferry's own, this gate's (its ports from the PID), made at the go: once awk reads its event, it has read
# every event before it (one netlink socket delivers them in order)
sport=$((20000 + $$ / 65535))
dport=$(($$ % 65535 + 1))
{
  # the event socket's buffer is the kernel's default (net.core.rmem_default: some hundreds of events); conntrack's
  # -b does not reach it in 1.4.7 (it sizes its other socket), so a burst of new flows ends in ENOBUFS, and a relisting
  conntrack -E -o extended 2>"$err" 3<&- &
  events=$!
  list "$@"
  echo ferry-snapshot-end
  if read -r go <&3 && [ "$go" = go ]; then
    if grep -q ENOBUFS "$err"; then
      echo 'ferry-events-lost enobufs'
    elif ! kill -0 $events 2>/dev/null; then
      echo 'ferry-events-lost reader-ended'
    elif ! conntrack -I -p udp -s 127.70.82.89 -d 127.70.82.89 --sport $sport --dport $dport -t 5 >/dev/null 2>&1
    then
      echo 'ferry-events-lost sentinel-refused'
    else
      echo ferry-go
      # its event not read in a second: the events are not to be trusted, awk lists again
      (
        exec 3<&-
        sleep 1
        kill $events
        echo 'ferry-events-lost sentinel-late'
      ) 2>/dev/null &
      exit 0
    fi
  fi
  kill $events 2>/dev/null
} | awk $lines -v pats="$(printf '%s\n' "$@")" -v sentinel="src=127.70.82.89 dst=127.70.82.89 sport=$sport dport=$dport " '
BEGIN { n = split(pats, a, "\n"); for (i = 1; i <= n; i++) if (a[i] != "-e" && a[i] != "") p[++m] = a[i] }
function ours(s,  i) { for (i = 1; i <= m; i++) if (index(s, p[i])) return 1; return 0 }
function key(  i, k, t) {
  k = $3; t = 0
  for (i = 6; i <= NF; i++) if ($i ~ /^src=/ && ++t > 1) break; else if ($i ~ /=/) k = k " " $i
  return k
}
# the flows whose latest event differs from what the listing saw
function changed(  k, line) {
  print "ferry-path events"
  for (k in latest) { line = latest[k]; $0 = line; $5 = ""; if (!($0 in seen)) print line }
  exit
}
# events were lost: the table listed again, and what is new or changed since the first listing
function relist(why,  cmd, line) {
  print "ferry-path relisted-" why
  cmd = "conntrack -L -o extended 2>/dev/null"
  while ((cmd | getline line) > 0) if (ours(line)) { $0 = line; $5 = ""; if (!($0 in seen)) print line }
  close(cmd)
  exit
}
/^ *\[[A-Z]+\]/ {
  if (index($0, sentinel)) { confirmed = 1; if (go) changed(); next }
  if (!ours($0)) next
  type = $1; sub(/^ *\[[A-Z]+\] */, "")
  if (type == "[DESTROY]") delete latest[key()]; else latest[key()] = $0
  next
}
$0 == "ferry-snapshot-end" { after = 1; print; fflush(); next }
$1 == "ferry-events-lost" { relist($2) }
$0 == "ferry-go" { go = 1; if (confirmed) changed(); next }
!after { line = $0; $5 = ""; seen[$0] = 1; print line }'
