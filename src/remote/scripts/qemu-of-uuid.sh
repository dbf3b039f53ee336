# The processes of this host whose arguments hold "-uuid" followed by $1 (validated by Ferry: a UUID): a QEMU of that
# domain, whichever daemon started it (an in-place upgrade left under its second daemon), or by hand. One pid a line,
# nothing when there is none. /proc's command lines are read as data, by grep and tr; the UUID is never a pattern.
LC_ALL=C
export LC_ALL
uuid=$1
grep -lF -e "$uuid" /proc/[0-9]*/cmdline 2>/dev/null | while IFS= read -r f; do
  pid=${f#/proc/}
  pid=${pid%/cmdline}
  # the pair as two whole arguments: -uuid, then exactly the UUID
  if tr '\0' '\n' <"$f" 2>/dev/null | grep -xF -A1 -e -uuid | grep -qxF -e "$uuid"; then echo "$pid"; fi
done
exit 0
