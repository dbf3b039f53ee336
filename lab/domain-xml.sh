#!/bin/bash
# domain-xml.sh NAME OCTET [MEM_MiB=512] [DIRTY_MB=64] [DIRTY_RATE=-1]  -> domain XML on stdout
# A tiny disk-less guest at $GUEST_NET.OCTET. TCG (type='qemu'): this sandbox's /dev/kvm cannot boot a
# stock kernel; on real hosts the same XML with type='kvm'.
# Env TAP: a pre-created tap instead of br0 (a KubeVirt pod's, whose libvirt cannot make one);
# SERIAL_LOG: where the console is logged; DOMAIN_UUID: a fixed UUID.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
NAME=$1; OCT=$2; MEM=${3:-512}; DMB=${4:-64}; DRATE=${5:--1}
EMU=${EMULATOR:-/usr/bin/qemu-system-x86_64}   # QEMU 10 inside the lab hosts (host-ns-setup.sh)
MAC=$(printf '52:54:00:00:01:%02x' "$OCT")
ANNOUNCE=$(for h in $HOSTS; do gnet_ip "$h"; done | paste -sd,)  # the hosts' br0 addresses, see lab.announce in guest/init
SERIAL_LOG=${SERIAL_LOG:-/var/log/libvirt/qemu/guest$OCT-serial.log}
if [ -n "${TAP:-}" ]; then
  NIC="    <interface type='ethernet'>
      <mac address='$MAC'/>
      <target dev='$TAP' managed='no'/>
      <model type='virtio'/>
    </interface>"
else
  NIC="    <interface type='bridge'>
      <source bridge='br0'/>
      <mac address='$MAC'/>
      <model type='virtio'/>
    </interface>"
fi
esc() { local s=${1//&/\&amp;}; s=${s//</\&lt;}; s=${s//>/\&gt;}; s=${s//\'/\&apos;}; printf '%s' "${s//\"/\&quot;}"; }
cat <<XML
<domain type='qemu'>
  <name>$(esc "$NAME")</name>
${DOMAIN_UUID:+  <uuid>$DOMAIN_UUID</uuid>
}  <memory unit='MiB'>$MEM</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>/var/lib/libvirt/boot/tiny-vmlinux</kernel>
    <initrd>/var/lib/libvirt/boot/tiny-initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet lab.name=guest$OCT lab.ip=$GUEST_NET.$OCT/24 lab.dirty_mb=$DMB lab.dirty_rate=$DRATE lab.announce=$ANNOUNCE</cmdline>
  </os>
  <features><acpi/></features>
  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$EMU</emulator>
$NIC
    <serial type='pty'>
      <log file='$SERIAL_LOG' append='on'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
</domain>
XML
