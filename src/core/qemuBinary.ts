/**
 * Which running domains still run a QEMU that has since been replaced on disk (an `apt upgrade` of a security
 * fix): one script per host, which executes nothing it finds. Each domain's QEMU process and emulator come from
 * libvirt, not from /proc: the status file the system libvirt daemon keeps per running domain
 * (/run/libvirt/qemu/<name>.xml, root only, `<domstatus … pid='N'>` around the live `<domain>`), read by position
 * (libvirt escapes `<` in every value, so a name cannot fake an element; a `<metadata>` block, dumped raw, can, and
 * comes before `<devices>`: the `<emulator>` taken is the one opening the last `<devices>`). The process must carry
 * `-uuid <that uuid>` as two whole arguments of its NUL-separated command line.
 *
 * It is stale when the file it runs is not the file at its path any more (device and inode differ, or it has no
 * links left), when the installed binary says another version, or when it still maps libraries that were replaced
 * (the "(deleted)" executable mappings of its maps). Versions are read as data: a QEMU binary holds the compile-time
 * string `QEMU emulator version X (…)`. When the emulator is a wrapper script (`#!`, e.g. Debian's
 * qemu-system-i386), what it exec'd is judged: the file at the path the kernel names for the running file.
 *
 * The output names no domain and every path is hex: `domain <uuid>` opens a record, then `key value` lines.
 */
import { isUuid } from './domain';

export interface QemuBinaryState {
  pid: number;
  /** the path libvirt started it from: the domain's <emulator> (from libvirt's status file) */
  emulator: string;
  /** the file the process runs, as the kernel names it: the emulator itself, or what a wrapper script exec'd */
  binary: string;
  /** the running file is no longer the file at its path */
  replaced: boolean;
  runningVersion?: string;
  installedVersion?: string;
  /** shared libraries it maps whose files were replaced or removed since it started */
  replacedLibraries: string[];
  /** why its QEMU could not be judged: then it is never called stale (nor current: callers must not say it is) */
  unknown?: string;
}

/** where the system libvirt daemon keeps its running QEMU domains' status files (the probe: src/remote/qemuProbe.ts) */
export const LIBVIRT_QEMU_STATUS_DIR = '/run/libvirt/qemu';

const FILE_ID = /^\d+:\d+$/;

const UNKNOWN: Record<string, (pid: string) => string> = {
  pid: () => "libvirt's status file gives no QEMU process id",
  process: (pid) => `process ${pid} is gone, or is not the domain's QEMU (no -uuid with its UUID)`,
  emulator: () => "libvirt's status file gives no emulator path",
  exe: (pid) => `the file process ${pid} runs cannot be read (/proc/${pid}/exe)`,
};

function fromHex(hex: string | undefined): string | undefined {
  if (hex === undefined || !/^(?:[0-9a-f]{2})*$/.test(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return new TextDecoder().decode(bytes);
}

/** A domain whose QEMU could not be judged, with why. */
export function unknownQemu(reason: string, pid = 0): QemuBinaryState {
  return { pid, emulator: '', binary: '', replaced: false, replacedLibraries: [], unknown: reason };
}

interface ProbeRecord {
  uuid: string;
  values: Map<string, string[]>;
}

function judge(record: ProbeRecord): QemuBinaryState {
  const all = (k: string) => record.values.get(k) ?? [];
  const one = (k: string) => {
    const v = all(k);
    return v.length === 1 ? v[0] : undefined;
  };
  const pidText = one('pid');
  const pid = pidText && /^[1-9]\d*$/.test(pidText) ? Number(pidText) : 0;
  const unknown = one('unknown');
  if (unknown !== undefined)
    return unknownQemu((UNKNOWN[unknown] ?? (() => `the probe said "${unknown.slice(0, 40)}"`))(String(pid)), pid);
  if (!pid) return unknownQemu(UNKNOWN.pid(''));
  const emulator = fromHex(one('emulator'));
  const binary = fromHex(one('binary'));
  const [exeId, links] = (one('exe') ?? '').split(' ');
  const fileId = (k: string) => {
    const v = one(k);
    return v !== undefined && FILE_ID.test(v) ? v : undefined;
  };
  const wrapper = one('wrapper');
  if (
    !emulator?.startsWith('/') ||
    binary === undefined ||
    !FILE_ID.test(exeId ?? '') ||
    !/^\d+$/.test(links ?? '') ||
    (wrapper !== 'yes' && wrapper !== 'no')
  ) {
    return unknownQemu(`the probe's answer for process ${pid} is incomplete`, pid);
  }
  const libraries = all('library').map(fromHex);
  if (libraries.some((l) => l === undefined))
    return unknownQemu(`the probe's answer for process ${pid} is incomplete`, pid);
  const version = (k: string) => {
    const v = one(k);
    return v && /^\d+(?:\.\d+)*$/.test(v) ? v : undefined;
  };
  const replaced =
    Number(links) === 0 || // no name leads to the running file any more: removed, or replaced by a rename
    fileId('binary_file') !== exeId || // the path the kernel names for it now holds another file, or nothing
    (wrapper === 'no' && fileId('emulator_file') !== exeId); // the emulator path (or its symlink) leads elsewhere
  return {
    pid,
    emulator,
    binary,
    replaced,
    runningVersion: version('running'),
    installedVersion: version('installed'),
    replacedLibraries: libraries as string[],
  };
}

/**
 * The probe's answer, per domain UUID. A UUID named by two status files, or a process claimed by two domains, is
 * unknown for each of them: never credited to either.
 */
export function parseQemuProbe(text: string): Map<string, QemuBinaryState> {
  const lines = text.split('\n');
  if (lines[0] !== 'ferry-qemu-probe 1')
    throw new Error(`unexpected QEMU probe output: ${JSON.stringify(lines[0].slice(0, 80))}`);
  const records: ProbeRecord[] = [];
  for (const line of lines.slice(1)) {
    const space = line.indexOf(' ');
    const key = space < 0 ? line : line.slice(0, space);
    const value = space < 0 ? '' : line.slice(space + 1);
    if (key === 'domain') {
      if (isUuid(value)) records.push({ uuid: value, values: new Map() });
      continue;
    }
    const record = records[records.length - 1];
    if (record && key) record.values.set(key, [...(record.values.get(key) ?? []), value]);
  }
  const result = new Map<string, QemuBinaryState>();
  const uuidCount = new Map<string, number>();
  for (const r of records) uuidCount.set(r.uuid, (uuidCount.get(r.uuid) ?? 0) + 1);
  const judged = records.map((r) => ({ uuid: r.uuid, state: judge(r) }));
  const byPid = new Map<number, string[]>();
  for (const { uuid, state } of judged) if (state.pid) byPid.set(state.pid, [...(byPid.get(state.pid) ?? []), uuid]);
  for (const { uuid, state } of judged) {
    if (uuidCount.get(uuid)! > 1) result.set(uuid, unknownQemu("two of libvirt's status files name this UUID"));
    else if (state.pid && byPid.get(state.pid)!.length > 1)
      result.set(uuid, unknownQemu(`process ${state.pid} is claimed by another domain too`, state.pid));
    else result.set(uuid, state);
  }
  return result;
}

export function isStale(s: QemuBinaryState): boolean {
  if (s.unknown !== undefined) return false;
  return (
    s.replaced ||
    (!!s.runningVersion && !!s.installedVersion && s.runningVersion !== s.installedVersion) ||
    s.replacedLibraries.length > 0
  );
}

/** "runs QEMU 10.0.2, 10.0.3 installed", "runs a replaced QEMU 10.0.2 binary", "maps 2 replaced libraries"; undefined when current. */
export function describeStale(s: QemuBinaryState): string | undefined {
  if (!isStale(s)) return undefined;
  const running = s.runningVersion ? `QEMU ${s.runningVersion}` : 'QEMU';
  if (s.runningVersion && s.installedVersion && s.runningVersion !== s.installedVersion)
    return `runs ${running}, ${s.installedVersion} installed`;
  if (s.replaced) return `runs a replaced ${running} binary`;
  const names = s.replacedLibraries.map((l) => l.slice(l.lastIndexOf('/') + 1));
  return `maps ${names.length} replaced librar${names.length === 1 ? 'y' : 'ies'} (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''})`;
}
