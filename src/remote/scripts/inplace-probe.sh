# What the in-place upgrade needs to know of this host and one running domain ($1, its UUID), as key=value lines.
LC_ALL=C
export LC_ALL
uuid=$1
if [ -S /run/libvirt/virtqemud-sock ]; then echo daemon=virtqemud; elif [ -S /run/libvirt/libvirt-sock ]; then echo daemon=libvirtd; fi
if command -v unshare >/dev/null 2>&1; then echo unshare=yes; else echo unshare=no; fi
hooks=
for f in /etc/libvirt/hooks/qemu /etc/libvirt/hooks/qemu.d/*; do
  if [ -f "$f" ] && [ -x "$f" ]; then hooks="$hooks ${f#/etc/libvirt/hooks/}"; fi
done
echo "hooks=${hooks# }"
echo "apparmor=$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)"
echo "selinux=$(cat /sys/fs/selinux/enforce 2>/dev/null)"
echo "security_driver=$(sed -n 's/^[[:space:]]*security_driver[[:space:]]*=[[:space:]]*//p' /etc/libvirt/qemu.conf 2>/dev/null | tr -d '"[] ' | head -n 1)"
echo "mem_available_kib=$(sed -n 's/^MemAvailable:[[:space:]]*\([0-9]*\) kB$/\1/p' /proc/meminfo)"
free=$(sed -n 's/^HugePages_Free:[[:space:]]*\([0-9]*\)$/\1/p' /proc/meminfo)
size=$(sed -n 's/^Hugepagesize:[[:space:]]*\([0-9]*\) kB$/\1/p' /proc/meminfo)
if [ -n "$free" ] && [ -n "$size" ]; then echo "hugepages_free_kib=$((free * size))"; fi
# the pid of the QEMU whose -uuid argument is $1: one grep over every command line, then the candidates checked
qemu_of() {
  grep -l -z -x -F -- "$1" /proc/[0-9]*/cmdline 2>/dev/null | while read -r f; do
    if tr '\0' '\n' <"$f" 2>/dev/null | awk -v u="$1" 'prev == "-uuid" && $0 == u { f = 1 } { prev = $0 } END { exit !f }'; then
      f=${f#/proc/}; echo "${f%/cmdline}"; break
    fi
  done
}
pid=$(qemu_of "$uuid")
if [ -n "$pid" ]; then
  echo "qemu_rss_kib=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$pid/status")"
fi
