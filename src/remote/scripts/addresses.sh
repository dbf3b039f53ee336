uri=$1; shift
for u; do
  echo "@domain $u"; virsh -q -c "$uri" domiflist "$u" 2>/dev/null
  echo "@leases"; virsh -q -c "$uri" domifaddr "$u" --source lease 2>/dev/null
done
echo "@neighbours"; ip -4 neigh show 2>/dev/null
exit 0
