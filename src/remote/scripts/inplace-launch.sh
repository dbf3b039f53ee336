umask 077; dir=$(mktemp -d /run/ferry-inplace.XXXXXXXXXX) || exit 1; run=$1; shift; setsid sh -c "$run" ferry-inplace "$dir" "$@" >"$dir/log" 2>&1 </dev/null & echo "$dir"
