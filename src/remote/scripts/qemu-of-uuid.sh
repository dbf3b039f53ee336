# The processes of this host whose arguments hold "-uuid" (or "--uuid") followed by $1 (validated by Ferry: a UUID),
# in either case as QEMU takes it: a QEMU of that domain, whichever daemon started it (an in-place upgrade left under
# its second daemon), or by hand. One pid a line, nothing when there is none; exit 3 when other users' processes
# cannot be read (/proc mounted with hidepid). /proc's command lines are read as data by grep and tr, never as code,
# and the UUID is never a pattern. printf is the shell's own: no argument list too long, however many processes.
LC_ALL=C
export LC_ALL
uuid=$1
if [ ! -r /proc/1/cmdline ]; then
  echo "cannot read other users' processes in /proc (hidepid?)" >&2
  exit 3
fi
printf '%s\0' /proc/[0-9]*/cmdline | xargs -0 grep -liF -e "$uuid" 2>/dev/null | while IFS= read -r f; do
  pid=${f#/proc/}
  pid=${pid%/cmdline}
  # the pair as two whole arguments: an argument's own line breaks become \001 first, then each NUL a line break
  if tr '\n\0' '\001\n' 2>/dev/null <"$f" | grep -ixF -A1 -e -uuid -e --uuid | grep -qixF -e "$uuid"; then
    echo "$pid"
  fi
done
exit 0
