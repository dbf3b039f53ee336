trap "" HUP PIPE
ms() { t=$(date +%s%N); case $t in *[!0-9]*) echo $(( $(date +%s) * 1000 )) ;; *) echo $(( t / 1000000 )) ;; esac; }
t0=$(ms)
echo "phase=saving"
virsh -q -c "$1" save "$2" "$3" --running || { echo "saved=no"; echo "ferry-exit=3"; exit 3; }
t1=$(ms)
echo "phase=restoring save_ms=$(( t1 - t0 ))"
virsh -q -c "$1" restore "$3" || { echo "saved=yes restored=no"; echo "ferry-exit=4"; exit 4; }
t2=$(ms)
rm -f -- "$3"
echo "save_ms=$(( t1 - t0 )) restore_ms=$(( t2 - t1 ))"
echo "ferry-exit=0"
