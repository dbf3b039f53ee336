#!/bin/bash
# Runs INSIDE new mount/uts/cgroup namespaces, already in the host's network namespace: makes them
# look like a separate hypervisor host.  $1 = host letter.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
h=$1; H=$(hdir "$h")
hostname "host$h"
umount -l /sys; mount -t sysfs sysfs /sys            # sysfs of *this* netns (/sys/class/net shows br0, vnetN)
# cgroup v1 hierarchies re-mounted inside the cgroup namespace: this host sees its own subtree as "/"
mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
  mkdir /sys/fs/cgroup/$c; mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c
done
mkdir /sys/fs/cgroup/systemd; mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
mkdir /sys/fs/cgroup/unified; mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
mount -t tmpfs -o mode=755 tmpfs /run                 # private pid files and sockets
mkdir -p /run/sshd /run/lock /run/libvirt; chmod 755 /run/sshd; chmod 1777 /run/lock
mount --bind "$H/etc-libvirt"       /etc/libvirt
mount --bind "$H/var-lib-libvirt"   /var/lib/libvirt
mount --bind "$H/var-log-libvirt"   /var/log/libvirt
mount --bind "$H/var-cache-libvirt" /var/cache/libvirt
mount --bind "$H/root-home"         /root        # its own root home: not this machine's dotfiles
mount --bind "$H/etc-hosts"         /etc/hosts
mount --bind "$H/etc-hostname"      /etc/hostname
mount --bind "$H/etc-passwd"        /etc/passwd  # + user 'ferry' (uid 0) with this host's login shell
mount --bind "$H/etc-shadow"        /etc/shadow
# QEMU 10 (see install-deps.sh) is this host's only QEMU, at the usual path. The system's QEMU 7.2 binaries
# are hidden: libvirt re-probed them on every call (~4 s each, their cached capabilities never validate on
# this machine's nested /dev/kvm), and under TCG 7.2 corrupts guests during migration.
mount --bind "$LAB/qemu-bpo/qemu-system-x86_64" /usr/bin/qemu-system-x86_64
mount --bind "$LAB/hosts/not-an-emulator" /usr/bin/qemu-system-i386
# The guests run under TCG whatever /dev/kvm is (lab.sh says which it found). A /dev/kvm left visible makes libvirt
# probe QEMU for KVM; on a nested PVM one that cannot run guests it gets no KVM and throws its capability cache away
# on every call (4-12 s each). So a /dev/kvm is hidden; a machine without one has nothing to hide.
if [ -e /dev/kvm ]; then mount --bind "$LAB/hosts/not-an-emulator" /dev/kvm; fi
# postcopy needs userfaultfd in the QEMU, which runs as libvirt-qemu: a node of /dev/userfaultfd that this host's QEMU
# user may open, seen only in this host's namespace (the machine's stays root-only, its sysctl untouched)
if [ -c /dev/userfaultfd ]; then
  rm -f "$H/userfaultfd"
  mknod -m 600 "$H/userfaultfd" c $((0x$(stat -c %t /dev/userfaultfd))) $((0x$(stat -c %T /dev/userfaultfd)))
  chown libvirt-qemu "$H/userfaultfd"; mount --bind "$H/userfaultfd" /dev/userfaultfd
fi
