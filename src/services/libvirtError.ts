/** A libvirt-level failure on a reachable host, and the words of virsh's own that say it. */

/** A libvirt-level failure on a reachable host (libvirtd not running, permission denied, …). */
export class LibvirtError extends Error {
  constructor(
    readonly host: string,
    message: string,
  ) {
    super(message);
    this.name = 'LibvirtError';
  }
}

/** First meaningful lines of virsh's stderr ("error: failed to connect to the hypervisor" and its cause). */
export function virshErrorText(stderr: string, code: number | null): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/^error:\s*/, '').trim())
    .filter(Boolean);
  return (
    lines.slice(0, 2).join(': ') ||
    `virsh ended with ${code === null ? 'no exit status' : `exit code ${code}`} and no message`
  );
}
