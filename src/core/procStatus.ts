/**
 * What a process may do, read from /proc without touching it: its effective capabilities (`CapEff:` in
 * /proc/<pid>/status, a hex mask) as names. QEMU needs CAP_IPC_LOCK or a memlock limit above guest RAM for
 * zero-copy send and RDMA; seed 000's team suspected exactly this.
 */

/** capability numbers as in linux/capability.h; a bit set in CapEff is the capability at that index */
export const CAPABILITY_NAMES = [
  'cap_chown',
  'cap_dac_override',
  'cap_dac_read_search',
  'cap_fowner',
  'cap_fsetid',
  'cap_kill',
  'cap_setgid',
  'cap_setuid',
  'cap_setpcap',
  'cap_linux_immutable',
  'cap_net_bind_service',
  'cap_net_broadcast',
  'cap_net_admin',
  'cap_net_raw',
  'cap_ipc_lock',
  'cap_ipc_owner',
  'cap_sys_module',
  'cap_sys_rawio',
  'cap_sys_chroot',
  'cap_sys_ptrace',
  'cap_sys_pacct',
  'cap_sys_admin',
  'cap_sys_boot',
  'cap_sys_nice',
  'cap_sys_resource',
  'cap_sys_time',
  'cap_sys_tty_config',
  'cap_mknod',
  'cap_lease',
  'cap_audit_write',
  'cap_audit_control',
  'cap_setfcap',
  'cap_mac_override',
  'cap_mac_admin',
  'cap_syslog',
  'cap_wake_alarm',
  'cap_block_suspend',
  'cap_audit_read',
  'cap_perfmon',
  'cap_bpf',
  'cap_checkpoint_restore',
] as const;

export const CAP_IPC_LOCK = 14;

/** A CapEff mask ("0000000000004400" or "0x4400") as capability names; unknown high bits as cap_<n>. */
export function decodeCapabilities(mask: string): string[] {
  const hex = mask.trim().replace(/^0x/i, '');
  if (!/^[0-9a-f]{1,16}$/i.test(hex)) throw new Error(`not a capability mask: ${JSON.stringify(mask)}`);
  const bits = BigInt(`0x${hex}`);
  const names: string[] = [];
  for (let i = 0; i < 64; i++) {
    if ((bits >> BigInt(i)) & 1n) names.push(CAPABILITY_NAMES[i] ?? `cap_${i}`);
  }
  return names;
}
