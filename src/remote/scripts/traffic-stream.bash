# ferry-traffic DEVICE INTERVAL_MS: a host device's shaping class, ingress policer, qdiscs and byte counters every
# INTERVAL_MS, over one channel, for as long as its stdin stays open. Bash for its clock ($EPOCHREALTIME) and its timed
# read: one tc (-batch, fed through a coprocess pipe) lives as long as the stream, and each reading is made by
# builtins, so a minute of viewing starts no process after the first two. A block per reading:
#   @@at MICROSECONDS          the host's clock when the byte counters were read
#   tc's classes, @@filter, its ingress filters, @@qdisc, its qdiscs, @@bytes, TX_BYTES, RX_BYTES (as tc-read.sh)
#   @@end
# Exit 0 at the end of stdin; 3, with why on stderr, when the device is gone or tc stops answering.
set -u
LC_ALL=C # $EPOCHREALTIME's decimal point
dev=$1
interval_us=$(($2 * 1000))
# tc -batch splits its lines into words itself (quotes, '#'): only a name it takes as one word goes there
case $dev in
  *[!A-Za-z0-9._@-]* | '') echo "ferry-traffic: a device name tc -batch would not read as one word" >&2; exit 2 ;;
esac
stats=/sys/class/net/$dev/statistics
now_us() { us=${EPOCHREALTIME/./}; }

coproc TC { exec tc -s -d -force -batch - 2>&1; }
# the end of each command's output: a command that fails (no device has a '/' in its name), after which tc -force
# prints "Command failed -:LINE" (LINE: its line in the batch, known here) and goes on; both lines are left out
mark='class show dev ferry/mark'
line_no=0
section() {
  line_no=$((line_no + 2))
  local line held='' have=0
  while IFS= read -r -t 5 -u "${TC[0]}" line; do
    if [ "$line" = "Command failed -:$line_no" ]; then return 0; fi
    [ "$have" = 0 ] || block+=$held$'\n'
    held=$line have=1
  done
  echo "ferry-traffic: tc did not answer for 5 s" >&2
  exit 3
}

now_us
next=$us
while :; do
  { read -r tx < "$stats/tx_bytes" && read -r rx < "$stats/rx_bytes"; } 2>/dev/null || {
    echo "ferry-traffic: $dev is gone" >&2
    exit 3
  }
  now_us
  block="@@at $us"$'\n'
  printf '%s\n' "class show dev $dev" "$mark" "filter show dev $dev parent ffff:" "$mark" \
    "qdisc show dev $dev" "$mark" >&"${TC[1]}"
  section
  block+=$'@@filter\n'
  section
  block+=$'@@qdisc\n'
  section
  printf '%s@@bytes\n%s\n%s\n@@end\n' "$block" "$tx" "$rx"
  # the next reading on the interval's grid (a late one moves the grid), waiting on stdin: its end ends the stream
  now_us
  next=$((next + interval_us))
  [ "$next" -gt "$us" ] || next=$((us + interval_us))
  wait_us=$((next - us))
  printf -v wait_s '%d.%06d' $((wait_us / 1000000)) $((wait_us % 1000000))
  read -r -t "$wait_s" _ || [ $? -gt 128 ] || exit 0
done
