# shellcheck disable=SC2086 # $lines is empty or "-W interactive", two words: split on purpose
for a; do set -- "$@" -e "src=$a " -e "dst=$a "; shift; done; list() { conntrack -L -o extended 2>/dev/null | grep -F "$@"; }; exec 3<&0; err=$(mktemp); trap 'rm -f "$err"' EXIT; lines=; case $(awk -W version 2>&1) in *mawk*) lines="-W interactive";; esac; { conntrack -E -o extended 2>"$err" & events=$!; list "$@"; echo ferry-snapshot-end; if read -r go <&3 && [ "$go" = go ]; then if grep -q ENOBUFS "$err" || ! kill -0 $events 2>/dev/null; then echo ferry-events-lost; list "$@"; fi; echo ferry-go; fi; kill $events 2>/dev/null; } | awk $lines -v pats="$(printf '%s\n' "$@")" 'BEGIN { n = split(pats, a, "\n"); for (i = 1; i <= n; i++) if (a[i] != "-e" && a[i] != "") p[++m] = a[i] }
function ours(s,  i) { for (i = 1; i <= m; i++) if (index(s, p[i])) return 1; return 0 }
function key(  i, k, t) { k = $3; t = 0; for (i = 6; i <= NF; i++) if ($i ~ /^src=/ && ++t > 1) break; else if ($i ~ /=/) k = k " " $i; return k }
/^ *\[[A-Z]+\]/ { if (!ours($0)) next; type = $1; sub(/^ *\[[A-Z]+\] */, ""); if (type == "[DESTROY]") delete latest[key()]; else latest[key()] = $0; next }
$0 == "ferry-snapshot-end" { after = 1; print; fflush(); next }
$0 == "ferry-events-lost" { lost = 1; next }
$0 == "ferry-go" { if (!lost) for (k in latest) { line = latest[k]; $0 = line; $5 = ""; if (!($0 in seen)) print line } exit }
{ line = $0; $5 = ""; if (!after) { seen[$0] = 1; print line } else if (lost && !($0 in seen)) print line }'
