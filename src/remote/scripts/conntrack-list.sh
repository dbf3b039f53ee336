for a; do set -- "$@" -e "src=$a " -e "dst=$a "; shift; done; list() { conntrack -L -o extended 2>/dev/null | grep -F "$@"; };  list "$@"; [ $? -le 1 ]
