/**
 * Which running domains still run a QEMU that has since been replaced on disk (an `apt upgrade` of a security
 * fix): read from the host's /proc, one script per host, without asking libvirt. A QEMU process is found by the
 * `-uuid` libvirt gives it; its argv[0] is the domain's emulator path. It is stale when the file it runs is not
 * the file at that path any more (device and inode differ, or it was deleted), when the installed binary reports
 * another version, or when it still maps libraries that were replaced (the "(deleted)" entries of its maps).
 */
import type { Argv } from './virsh';

export interface QemuBinaryState {
  pid: number;
  /** the path libvirt started it from: the domain's <emulator> */
  emulator: string;
  /** the running file is no longer the file at the emulator path */
  replaced: boolean;
  runningVersion?: string;
  installedVersion?: string;
  /** shared libraries it maps whose files were replaced or removed since it started */
  replacedLibraries: string[];
}

const PROBE = `
for d in /proc/[0-9]*; do
  emu=$(tr '\\0' '\\n' < "$d/cmdline" 2>/dev/null | head -n 1)
  case "\${emu##*/}" in qemu-system-*|qemu-kvm|kvm) ;; *) continue ;; esac
  uuid=$(tr '\\0' '\\n' < "$d/cmdline" | awk 'p == "-uuid" { print; exit } { p = $0 }')
  case "$uuid" in ''|*[!0-9a-f-]*) continue ;; esac
  printf '@@ %s\\npid=%s\\nemulator=%s\\n' "$uuid" "\${d#/proc/}" "$emu"
  printf 'exe=%s\\n' "$(readlink "$d/exe")"
  printf 'exe_id=%s\\n' "$(stat -L -c %d:%i "$d/exe" 2>/dev/null)"
  printf 'file_id=%s\\n' "$(stat -L -c %d:%i "$emu" 2>/dev/null)"
  printf 'running=%s\\n' "$("$d/exe" --version 2>/dev/null | head -n 1)"
  printf 'installed=%s\\n' "$("$emu" --version 2>/dev/null | head -n 1)"
  awk '$NF == "(deleted)" && $6 ~ /^\\// && $6 !~ /^\\/(memfd:|dev\\/|SYSV)/ { print "deleted=" $6 }' "$d/maps" 2>/dev/null | sort -u
done`;

/** One read of every QEMU process on a host (needs the right to read other users' /proc entries: root). */
export function qemuProbeArgv(): Argv {
  return ['sh', '-c', PROBE, 'ferry-qemu-probe'];
}

const version = (line: string | undefined) => (line ? /QEMU emulator version (\S+)/.exec(line)?.[1] : undefined);

export function parseQemuProbe(text: string): Map<string, QemuBinaryState> {
  const result = new Map<string, QemuBinaryState>();
  for (const block of text.split(/^@@ /m).slice(1)) {
    const [uuid, ...lines] = block.split('\n');
    const values = new Map<string, string[]>();
    for (const line of lines) {
      const eq = line.indexOf('=');
      if (eq > 0) values.set(line.slice(0, eq), [...(values.get(line.slice(0, eq)) ?? []), line.slice(eq + 1)]);
    }
    const one = (k: string) => values.get(k)?.[0] || undefined;
    const exeId = one('exe_id');
    const fileId = one('file_id');
    result.set(uuid.trim(), {
      pid: Number(one('pid')),
      emulator: one('emulator') ?? '',
      replaced: (one('exe') ?? '').endsWith(' (deleted)') || !fileId || (exeId !== undefined && exeId !== fileId),
      runningVersion: version(one('running')),
      installedVersion: version(one('installed')),
      replacedLibraries: values.get('deleted') ?? [],
    });
  }
  return result;
}

export function isStale(s: QemuBinaryState): boolean {
  return s.replaced || (!!s.runningVersion && !!s.installedVersion && s.runningVersion !== s.installedVersion) || s.replacedLibraries.length > 0;
}

/** "runs QEMU 10.0.2, 10.0.3 installed", "runs a replaced QEMU 10.0.2 binary", "maps 2 replaced libraries"; undefined when current. */
export function describeStale(s: QemuBinaryState): string | undefined {
  if (!isStale(s)) return undefined;
  const running = s.runningVersion ? `QEMU ${s.runningVersion}` : 'QEMU';
  if (s.runningVersion && s.installedVersion && s.runningVersion !== s.installedVersion) return `runs ${running}, ${s.installedVersion} installed`;
  if (s.replaced) return `runs a replaced ${running} binary`;
  const names = s.replacedLibraries.map((l) => l.slice(l.lastIndexOf('/') + 1));
  return `maps ${names.length} replaced librar${names.length === 1 ? 'y' : 'ies'} (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''})`;
}
