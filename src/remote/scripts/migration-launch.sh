umask 077; set -C; log=$1; inner=$2; shift 2; : >"$log" || exit 1; set +C; setsid sh -c "$inner" ferry-migrate "$@" >>"$log" 2>&1 </dev/null & echo "$!"
