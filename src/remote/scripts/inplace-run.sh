# The in-place QEMU upgrade of one domain on this host, detached from Ferry's SSH session: a transient second libvirt
# daemon (the shadow) with its own host UUID in a private mount namespace; the domain live-migrates into it and back,
# each hop onto a new QEMU process from the installed binary; then the shadow goes, and everything it made with it.
# Its log (stdout) is read by Ferry (core/inPlace.ts): phase=hopN k=K (the Kth attempt, whose virsh output is
# hop-K.log, ending in ferry-exit=N), and last ferry-exit=N (0 done, 10 shadow did not start, 11 hop 1 failed,
# 12 left under the shadow).
# $1 the run's folder (root's, from mktemp), $2 the domain's UUID, $3 the shadow's namespace script,
# $4 postcopy: off | auto (switch when a hop passes 5 iterations) | always; $5 each hop's max downtime, ms;
# the rest: more virsh migrate options.
trap "" HUP PIPE
dir=$1; uuid=$2; shadow=$3; postcopy=$4; downtime=$5; shift 5
sysuri=qemu:///system
if [ -S /run/libvirt/virtqemud-sock ]; then daemon=virtqemud; sock=virtqemud-sock; else daemon=libvirtd; sock=libvirt-sock; fi
shadowuri="qemu+unix:///system?socket=$dir/sock/$sock"
backuri="qemu+unix:///system?socket=$dir/system/$sock"
say() { echo "$*"; }
ms() { t=$(date +%s%N); case $t in *[!0-9]*) echo $(( $(date +%s) * 1000 )) ;; *) echo $(( t / 1000000 )) ;; esac; }
state() { virsh -q -c "$1" domstate "$uuid" 2>/dev/null | head -n 1; }

make_dirs() {
  chmod 711 "$dir"
  mkdir -p "$dir/etc" "$dir/run" "$dir/lib" "$dir/cache" "$dir/logs/qemu" "$dir/sock" "$dir/system" "$dir/system-lib" "$dir/mig"
  for pair in run:/run/libvirt lib:/var/lib/libvirt/qemu cache:/var/cache/libvirt logs:/var/log/libvirt logs/qemu:/var/log/libvirt/qemu; do
    chown --reference="${pair#*:}" "$dir/${pair%%:*}" && chmod --reference="${pair#*:}" "$dir/${pair%%:*}" || return 1
  done
  chmod 755 "$dir/sock"
  # the hops' sockets are made by the QEMUs, which run as the owner of libvirt's QEMU folder
  chown --reference=/var/lib/libvirt/qemu "$dir/mig" || return 1
  # the daemons' settings only: no domains, networks, secrets, storage pools, hooks or autostart of the host's
  find /etc/libvirt -maxdepth 1 -type f -exec cp -p {} "$dir/etc/" \; || return 1
  # QEMU's capabilities as the system daemon has probed them (same binaries): no probe of seconds before hop 1
  if [ -d /var/cache/libvirt/qemu/capabilities ]; then mkdir -p "$dir/cache/qemu" && cp -pR /var/cache/libvirt/qemu/capabilities "$dir/cache/qemu/"; fi
  sed -i '/^[[:space:]]*\(host_uuid\|host_uuid_source\|unix_sock_dir\)[[:space:]]*=/d' "$dir/etc/$daemon.conf" || return 1
  printf '\nhost_uuid = "%s"\nunix_sock_dir = "%s"\n' "$(cat /proc/sys/kernel/random/uuid)" "$dir/sock" >>"$dir/etc/$daemon.conf"
}

start_shadow() {
  rm -f "$dir/sock/$sock" "$dir/daemon.pid"
  unshare -m --propagation private sh -c "$shadow" ferry-shadow "$dir" "$daemon" >>"$dir/shadow.log" 2>&1 </dev/null &
  shadow_pid=$!
  i=0
  while [ $i -lt 300 ]; do
    if virsh -q -c "$shadowuri" uri >/dev/null 2>&1; then say "shadow=$shadow_pid"; return 0; fi
    kill -0 "$shadow_pid" 2>/dev/null || break
    sleep 0.1; i=$((i + 1))
  done
  return 1
}

stop_shadow() {
  if [ -n "${shadow_pid:-}" ] && kill -0 "$shadow_pid" 2>/dev/null; then
    kill "$shadow_pid"
    i=0; while kill -0 "$shadow_pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    kill -0 "$shadow_pid" 2>/dev/null && kill -9 "$shadow_pid"
  fi
  wait "${shadow_pid:-0}" 2>/dev/null
}

# an incoming QEMU the shadow started and left behind (it died mid-hop): only while the system daemon runs the domain
# with a QEMU of its own, and only a process started for an incoming migration
kill_stray_incoming() {
  [ "$(state "$sysuri")" = running ] || return 0
  for f in "$dir"/run/qemu/*.pid; do
    [ -f "$f" ] || continue
    p=$(cat "$f"); case $p in '' | *[!0-9]*) continue ;; esac
    if tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | grep -qx -- -incoming; then kill -9 "$p" && say "stray-incoming-killed=$p"; fi
  done
}

# a hop: virsh migrate from $1 into $2 over a unix socket in the run's folder; each attempt has its own log
k=0
hop() {
  from=$1; into=$2; n=$3; shift 3
  k=$((k + 1))
  : >"$dir/hop-$k.log"
  say "phase=hop$n k=$k at=$(ms)"
  case $postcopy in always) pc="--postcopy --postcopy-after-precopy" ;; auto) pc=--postcopy ;; *) pc= ;; esac
  # on one host the memory moves fast: a short max downtime costs a pass or two more, and shortens the pause
  virsh -q -c "$from" migrate-setmaxdowntime "$uuid" "$downtime" >/dev/null 2>&1
  if [ "$postcopy" = auto ]; then watch_iterations "$from" & watcher=$!; else watcher=; fi
  forget_on_pause "$from" & forgetter=$!
  # --unsafe: libvirt refuses local disk images as "without shared storage", a check about two hosts' page caches;
  # here both QEMUs open the same file through one page cache, the new one only at the switchover
  # (late-block-activate), after the leaving one has flushed and let go of it
  # shellcheck disable=SC2086 # $pc is a list of options
  virsh -q -c "$from" migrate --live --p2p --unsafe $pc "$uuid" "$into" --migrateuri "unix://$dir/mig/hop-$k" "$@" >>"$dir/hop-$k.log" 2>&1
  rc=$?
  if [ -n "$watcher" ]; then kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null; fi
  pkill -P "$forgetter" 2>/dev/null; kill "$forgetter" 2>/dev/null; wait "$forgetter" 2>/dev/null
  # the hop's statistics, read at once: the next hop's job replaces them (the leaving side keeps none)
  if [ $rc = 0 ]; then
    # the way back's URI is the shadow's view of the system daemon: from here it is $sysuri
    if [ "$n" = 1 ]; then here=$into; else here=$sysuri; fi
    stats=$(virsh -q -c "$here" domjobinfo --completed --keep-completed --rawstats "$uuid" 2>&1)
    case $stats in *'Job type: 3'*) ;; *) stats=$(virsh -q -c "$from" domjobinfo --completed --keep-completed --rawstats "$uuid" 2>&1) ;; esac
    echo "$stats" >>"$dir/hop-$k.log"
  fi
  echo "ferry-exit=$rc" >>"$dir/hop-$k.log"
  say "hop$n=$rc k=$k at=$(ms)"
  return $rc
}

# the moment the leaving QEMU pauses for the switchover, its taps' bridge entries for the guest's MACs go: the bridge
# floods the guest's frames (to the new tap among others) until the guest, running again, is learnt on the new tap.
# Else they go on into the old tap until the new QEMU's announcements get through, which libvirt sends while the new
# tap is still down (measured in the lab: 250-550 ms of guest-visible pause per hop, against libvirt's 20-50 ms).
forget_on_pause() {
  taps=$(virsh -q -c "$1" domiflist "$uuid" 2>/dev/null | awk '$1 ~ /^[A-Za-z0-9_.-]+$/ && $5 ~ /^[0-9a-f:]+$/ { print $1 "," $5 }')
  [ -n "$taps" ] || return 0
  virsh -q -c "$1" event --domain "$uuid" --event lifecycle --loop 2>/dev/null | while read -r event; do
    case $event in
      *Suspended\ Migrated* | *Suspended\ Post-copy*)
        for t in $taps; do bridge fdb del "${t#*,}" dev "${t%%,*}" master 2>/dev/null; done
        say "fdb-forgotten at=$(ms)"
        break ;;
    esac
  done
}

# postcopy when a hop does not converge: past the 5th pass over memory, the rest is fetched on demand
watch_iterations() {
  while sleep 0.5; do
    it=$(virsh -q -c "$1" domjobinfo "$uuid" --rawstats 2>/dev/null | sed -n 's/^memory_iteration[[:space:]]*:[[:space:]]*//p')
    case $it in '' | *[!0-9]*) continue ;; esac
    if [ "$it" -gt 5 ]; then virsh -q -c "$1" migrate-postcopy "$uuid" >/dev/null 2>&1 && say "postcopy-switched=$it"; return; fi
  done
}

finish() {
  stop_shadow
  # the shadow's folders go; the log stays for Ferry, which removes the run's folder once it has read it
  find "$dir" -mindepth 1 -maxdepth 1 ! -name log ! -name 'hop-*.log' ! -name shadow.log -exec rm -rf {} +
  say "ferry-exit=$1 at=$(ms)"
  exit "$1"
}

say "phase=starting daemon=$daemon at=$(ms)"
make_dirs || { say "error: could not prepare the shadow's folders in $dir"; finish 10; }
# The hops' definitions: the way back takes the domain's own, as the system daemon runs it; the way there the same
# with relabel='no' on each disk image's source, so that the leaving shadow does not give the images back to their
# owner under the running QEMU (the system daemon does that after hop 1, and labels them again in hop 2)
virsh -q -c "$sysuri" dumpxml --migratable "$uuid" >"$dir/domain.xml" 2>>"$dir/shadow.log" ||
  { say "error: could not read the domain's definition"; finish 10; }
norelabel="><seclabel model='dac' relabel='no'/></source>"
sed -e "/<disk /,/<\/disk>/ s|\(<source file=[^>]*[^/]\)/>|\1$norelabel|" \
  -e "/<disk /,/<\/disk>/ s|\(<source dev=[^>]*[^/]\)/>|\1$norelabel|" "$dir/domain.xml" >"$dir/there.xml" ||
  { say "error: could not write the way there's definition"; finish 10; }
start_shadow || { say "error: the shadow daemon did not start"; sed 's/^/shadow: /' "$dir/shadow.log"; finish 10; }
if ! hop "$sysuri" "$shadowuri" 1 --xml "$dir/there.xml" "$@"; then
  sed 's/^/hop1: /' "$dir/hop-$k.log"
  # virsh can fail after the switchover (its connection lost at the confirm): then the shadow runs the domain, and
  # the way back goes on; else the domain is the system daemon's, and the shadow goes
  if [ "$(state "$shadowuri")" != running ] || [ "$(state "$sysuri")" = running ]; then
    stop_shadow; kill_stray_incoming
    say "where=system state=$(state "$sysuri")"
    finish 11
  fi
  say "hop1-ended-under-shadow"
fi
# the way back; a shadow or system daemon that went away meanwhile is waited for (or started again) and the hop retried
tries=0
until hop "$shadowuri" "$backuri" 2 --xml "$dir/domain.xml" "$@"; do
  sed 's/^/hop2: /' "$dir/hop-$k.log"
  tries=$((tries + 1))
  if [ "$(state "$sysuri")" = running ]; then break; fi
  [ $tries -ge 3 ] && break
  if ! kill -0 "$shadow_pid" 2>/dev/null; then say "shadow-restarted"; start_shadow || break; fi
  i=0; until virsh -q -c "$sysuri" uri >/dev/null 2>&1 || [ $i -ge 600 ]; do sleep 0.1; i=$((i + 1)); done
  sleep 1
done
if [ "$(state "$sysuri")" = running ]; then say "where=system"; finish 0; fi
if kill -0 "$shadow_pid" 2>/dev/null; then alive=yes; else alive=no; fi
say "where=shadow state=$(state "$shadowuri") shadow-alive=$alive uri=$shadowuri"
say "ferry-exit=12 at=$(ms)"
exit 12
