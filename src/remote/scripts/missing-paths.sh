for p; do [ -e "$p" ] || printf "%s\n" "$p"; done
