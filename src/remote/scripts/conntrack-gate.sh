# ferry-conntrack-gate ADDRESS…: the switchover gate's two listings on the source (remote/conntrack.ts says how).
# shellcheck disable=SC2086 # $lines is empty or "-W interactive", two words: split on purpose
for a; do set -- "$@" -e "src=$a " -e "dst=$a "; shift; done; list() { conntrack -L -o extended 2>/dev/null | grep -F "$@"; }; exec 3<&0
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
err=$dir/events.err
mkfifo "$dir/go" "$dir/late"
lines=
case $(awk -W version 2>&1) in *mawk*) lines="-W interactive" ;; esac
# a flow of Ferry's own, this gate's (its ports from the PID), made at the go: once awk reads its event, it has read
# every event before it (one netlink socket delivers them in order)
sport=$((20000 + $$ / 65535))
dport=$(($$ % 65535 + 1))
# whether conntrack -E said it lost events, read by this shell (no process in the guest's pause)
events_lost() { while read -r line; do case $line in *ENOBUFS*) return 0 ;; esac; done < "$err"; return 1; }
# a FIFO's waiting reader let go, with a line (the go) or none (the gate is over): opened read-write, so this shell
# never waits for a reader that is gone
release() { if [ "$2" = line ]; then echo 1<>"$dir/$1"; else : 1<>"$dir/$1"; fi; }
{
  # the event socket's buffer is the kernel's default (net.core.rmem_default: some hundreds of events); conntrack's
  # -b does not reach it in 1.4.7 (it sizes its other socket), so a burst of new flows ends in ENOBUFS, and a relisting
  conntrack -E -o extended 2>"$err" 3<&- &
  events=$!
  # started now, waiting for the go, so that none is started in the guest's pause: the loader of Ferry's own flow
  # (conntrack -R loads at the end of its input), and the timer after which its event is late
  {
    exec 3<&-
    read -r _ < "$dir/go" && echo "-A -t 5 -p udp -s 127.70.82.89 -d 127.70.82.89 --sport $sport --dport $dport"
  } | conntrack -R - >/dev/null 2>&1 3<&- &
  (
    exec 3<&-
    read -r _ < "$dir/late" || exit 0
    sleep 1
    kill $events
    echo 'ferry-events-lost sentinel-late'
  ) 2>/dev/null &
  # one whole line per write: grep writes blocks that end mid-line, and an event written into this same pipe between
  # two of them cut a flow's line in two (a pipe keeps a write of up to 4 KiB whole, a flow's line is shorter, and
  # conntrack -E writes each event in one write)
  list "$@" | awk '{ print; fflush() }'
  echo ferry-snapshot-end
  if read -r go <&3 && [ "$go" = go ]; then
    if events_lost; then
      echo 'ferry-events-lost enobufs'
    elif ! kill -0 $events 2>/dev/null; then
      echo 'ferry-events-lost reader-ended'
    else
      release go line
      echo ferry-go
      release late line
      exit 0
    fi
  fi
  release go none
  release late none
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
