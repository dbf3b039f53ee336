/** The IP addresses of running domains (scripts/addresses.sh); the parser is core/virsh parseAddresses. */
import type { Argv } from '../core/virsh';
import { assertUuid } from '../core/virsh';
import ADDRESSES from './scripts/addresses.sh';

/**
 * One remote run for the IP addresses of running domains: each one's interfaces (MACs) and DHCP leases, then the
 * host's IPv4 neighbour table. Ferry reads the neighbours itself rather than `domifaddr --source arp`, which fails
 * on some libvirt/kernel pairs ("internal error: wrong nlmsg len", libvirt 9.0 on the lab's kernel).
 */
export function addressesArgv(uri: string, uuids: readonly string[]): Argv {
  for (const u of uuids) assertUuid(u);
  return ['sh', '-c', ADDRESSES, 'ferry-addresses', uri, ...uuids];
}
