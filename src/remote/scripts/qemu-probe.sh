
LC_ALL=C
export LC_ALL
dir=${1:-/run/libvirt/qemu}
if [ ! -d "$dir" ]; then
  echo 'ferry-qemu-probe: no libvirt QEMU status directory' >&2
  exit 3
fi
# the domain's pid, uuid and emulator, one a line (empty when not found where libvirt writes it, or malformed)
# shellcheck disable=SC2016
status_awk='
function is_uuid(u,  i, c) {
  if (length(u) != 36) return 0
  for (i = 1; i <= 36; i++) {
    c = substr(u, i, 1)
    if (i == 9 || i == 14 || i == 19 || i == 24) { if (c != "-") return 0 }
    else if (!index("0123456789abcdef", c)) return 0
  }
  return 1
}
function attr(s, name) {
  if (!match(s, " " name "=" q "[^" q "]*" q)) return ""
  s = substr(s, RSTART + length(name) + 3, RLENGTH - length(name) - 4)
  return s
}
st == 0 { if (index($0, "<domstatus ") == 1) { st = 1; pid = attr($0, "pid") } ; next }
st == 1 { if (index($0, "  <domain type=") == 1) st = 2 ; next }
st == 2 { if (index($0, "    <name>") != 1) { st = 5 ; next } ; st = 3 }
st == 3 { if (index($0, "</name>")) st = 4 ; next }
st == 4 { if ($0 ~ /^    <uuid>.*<\/uuid>$/) uuid = substr($0, 11, length($0) - 17) ; st = 5 ; next }
st == 5 && $0 == "    <devices>" { dev = NR ; emu = "" ; next }
st == 5 && dev && NR == dev + 1 && $0 ~ /^      <emulator>.*<\/emulator>$/ {
  emu = substr($0, 17, length($0) - 27)
  gsub(/&lt;/, "<", emu) ; gsub(/&gt;/, ">", emu) ; gsub(/&apos;/, q, emu) ; gsub(/&quot;/, "\"", emu)
  gsub(/&amp;/, "\\&", emu)
}
END {
  print (pid ~ /^[1-9][0-9]*$/ ? pid : "")
  print (is_uuid(uuid) ? uuid : "")
  print (emu ~ /^\// ? emu : "")
  print "."
}'
# the executable mappings of files no longer on disk, but the running binary itself (its inode)
# shellcheck disable=SC2016
maps_awk='
$2 ~ /x/ && $5 != ino && / [(]deleted[)]$/ {
  sub(/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "")
  sub(/ [(]deleted[)]$/, "")
  if ($0 ~ /^\// && $0 !~ /^\/(memfd:|dev\/|SYSV)/) print
}'
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
file_id() { stat -L -c %d:%i "$1" 2>/dev/null || echo -; }
versions=' '
nl='
'
# v= the version string in file $1 (read as data, never run), once per file identity $2
version_of() {
  case "$versions" in
    *" $2="*) v=${versions#*" $2="}; v=${v%% *}; return ;;
  esac
  v=$(grep -a -o -m 1 'QEMU emulator version [0-9][0-9.]*' "$1" 2>/dev/null | head -n 1)
  v=${v#QEMU emulator version }
  case "$v" in ''|*[!0-9.]*) v=- ;; esac
  versions="$versions$2=$v "
}
echo 'ferry-qemu-probe 1'
for f in "$dir"/*.xml; do
  [ -e "$f" ] || continue
  if [ ! -f "$f" ] || [ ! -r "$f" ]; then
    echo 'ferry-qemu-probe: a libvirt status file could not be read (root is needed)' >&2
    continue
  fi
  p=$(awk -v q="'" "$status_awk" "$f")
  pid=${p%%"$nl"*}; p=${p#*"$nl"}
  uuid=${p%%"$nl"*}; p=${p#*"$nl"}
  emu=${p%"$nl."}
  case "$uuid" in
    ''|*[!0-9a-f-]*) echo 'ferry-qemu-probe: a libvirt status file holds no domain uuid where libvirt writes it' >&2; continue ;;
  esac
  echo "domain $uuid"
  case "$pid" in ''|*[!0-9]*|0*) echo 'unknown pid'; continue ;; esac
  echo "pid $pid"
  # -uuid and the uuid as two whole arguments: the command line as hex bytes, split on NUL only
  uh=$(printf '%s' "$uuid" | od -An -v -tx1 | tr -d '\n')
  cmd=$(od -An -v -tx1 < "/proc/$pid/cmdline" 2>/dev/null | tr -d '\n')
  case " 00$cmd " in
    *" 00 2d 75 75 69 64 00$uh 00 "*) ;;
    *) echo 'unknown process'; continue ;;
  esac
  case "$emu" in /*) ;; *) echo 'unknown emulator'; continue ;; esac
  echo "emulator $(hex "$emu")"
  exe=$(stat -L -c '%d:%i %h' "/proc/$pid/exe" 2>/dev/null)
  case "$exe" in [0-9]*:[0-9]*' '[0-9]*) ;; *) echo 'unknown exe'; continue ;; esac
  echo "exe $exe"
  exe_id=${exe% *}
  ino=${exe_id#*:}
  if link=$(readlink "/proc/$pid/exe" && echo x); then link=${link%?x}; else link=; fi
  case "$link" in *' (deleted)') link=${link% (deleted)} ;; esac
  echo "binary $(hex "$link")"
  echo "binary_file $(file_id "$link")"
  emu_id=$(file_id "$emu")
  echo "emulator_file $emu_id"
  if [ "$(head -c 2 "$emu" 2>/dev/null)" = '#!' ]; then
    echo 'wrapper yes'
    installed=$link
    installed_id=$(file_id "$link")
  else
    echo 'wrapper no'
    installed=$emu
    installed_id=$emu_id
  fi
  version_of "/proc/$pid/exe" "$exe_id"
  echo "running $v"
  if [ "$installed_id" = - ]; then v=-; else version_of "$installed" "$installed_id"; fi
  echo "installed $v"
  awk -v ino="$ino" "$maps_awk" "/proc/$pid/maps" 2>/dev/null | sort -u | while IFS= read -r l; do
    echo "library $(hex "$l")"
  done
done
