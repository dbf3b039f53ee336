exec 3<&0; "$@" </dev/null 3<&- & pid=$!; { cat >/dev/null; kill -TERM "$pid"; } <&3 >/dev/null 2>&1 & exec 3<&-; wait "$pid"
