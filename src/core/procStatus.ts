/**
 * What a process may do, read from /proc without touching it: effective capabilities (`CapEff:` in
 * /proc/<pid>/status, a hex mask) and the locked-memory limit (/proc/<pid>/limits). QEMU needs CAP_IPC_LOCK or a
 * memlock limit above guest RAM for zero-copy send and RDMA; seed 000's team suspected exactly this.
 */

/** capability numbers as in linux/capability.h; a bit set in CapEff is the capability at that index */
export const CAPABILITY_NAMES = [
  'cap_chown', 'cap_dac_override', 'cap_dac_read_search', 'cap_fowner', 'cap_fsetid', 'cap_kill', 'cap_setgid',
  'cap_setuid', 'cap_setpcap', 'cap_linux_immutable', 'cap_net_bind_service', 'cap_net_broadcast', 'cap_net_admin',
  'cap_net_raw', 'cap_ipc_lock', 'cap_ipc_owner', 'cap_sys_module', 'cap_sys_rawio', 'cap_sys_chroot', 'cap_sys_ptrace',
  'cap_sys_pacct', 'cap_sys_admin', 'cap_sys_boot', 'cap_sys_nice', 'cap_sys_resource', 'cap_sys_time',
  'cap_sys_tty_config', 'cap_mknod', 'cap_lease', 'cap_audit_write', 'cap_audit_control', 'cap_setfcap',
  'cap_mac_override', 'cap_mac_admin', 'cap_syslog', 'cap_wake_alarm', 'cap_block_suspend', 'cap_audit_read',
  'cap_perfmon', 'cap_bpf', 'cap_checkpoint_restore',
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

/** Every capability the kernel knows is in the mask (a root process with no bounding set). */
export const hasAllCapabilities = (names: string[]) => CAPABILITY_NAMES.every((n) => names.includes(n));

/** The fields of /proc/<pid>/status Ferry reads. */
export function parseProcStatus(text: string): { capEff?: string; name?: string; threads?: number } {
  const field = (key: string) => new RegExp(`^${key}:\\s*(.+)$`, 'm').exec(text)?.[1].trim();
  const threads = field('Threads');
  return { capEff: field('CapEff'), name: field('Name'), threads: threads ? Number(threads) : undefined };
}

/** The soft "Max locked memory" limit in bytes from /proc/<pid>/limits; 'unlimited' as Infinity. */
export function parseMemlockLimit(text: string): number | undefined {
  const m = /^Max locked memory\s+(\S+)\s+(\S+)\s+bytes/m.exec(text);
  if (!m) return undefined;
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}
