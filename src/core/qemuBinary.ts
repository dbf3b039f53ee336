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
import type { Argv } from './virsh';

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

/** where the system libvirt daemon keeps its running QEMU domains' status files */
export const LIBVIRT_QEMU_STATUS_DIR = '/run/libvirt/qemu';

// Shell (dash, POSIX); as a template literal: \\ is one backslash, \${ a literal ${.
const PROBE = `
LC_ALL=C
export LC_ALL
dir=\${1:-${LIBVIRT_QEMU_STATUS_DIR}}
if [ ! -d "$dir" ]; then
  echo 'ferry-qemu-probe: no libvirt QEMU status directory' >&2
  exit 3
fi
# the domain's pid, uuid and emulator, one a line (empty when not found where libvirt writes it, or malformed)
# shellcheck disable=SC2016
status_awk='
function is_uuid(u,  i, c) {
  if (length(u) != 36) return 0
  for (i = 1; i <= 36; i++) {
    c = substr(u, i, 1)
    if (i == 9 || i == 14 || i == 19 || i == 24) { if (c != "-") return 0 }
    else if (!index("0123456789abcdef", c)) return 0
  }
  return 1
}
function attr(s, name) {
  if (!match(s, " " name "=" q "[^" q "]*" q)) return ""
  s = substr(s, RSTART + length(name) + 3, RLENGTH - length(name) - 4)
  return s
}
st == 0 { if (index($0, "<domstatus ") == 1) { st = 1; pid = attr($0, "pid") } ; next }
st == 1 { if (index($0, "  <domain type=") == 1) st = 2 ; next }
st == 2 { if (index($0, "    <name>") != 1) { st = 5 ; next } ; st = 3 }
st == 3 { if (index($0, "</name>")) st = 4 ; next }
st == 4 { if ($0 ~ /^    <uuid>.*<\\/uuid>$/) uuid = substr($0, 11, length($0) - 17) ; st = 5 ; next }
st == 5 && $0 == "    <devices>" { dev = NR ; emu = "" ; next }
st == 5 && dev && NR == dev + 1 && $0 ~ /^      <emulator>.*<\\/emulator>$/ {
  emu = substr($0, 17, length($0) - 27)
  gsub(/&lt;/, "<", emu) ; gsub(/&gt;/, ">", emu) ; gsub(/&apos;/, q, emu) ; gsub(/&quot;/, "\\"", emu)
  gsub(/&amp;/, "\\\\&", emu)
}
END {
  print (pid ~ /^[1-9][0-9]*$/ ? pid : "")
  print (is_uuid(uuid) ? uuid : "")
  print (emu ~ /^\\// ? emu : "")
  print "."
}'
# the executable mappings of files no longer on disk, but the running binary itself (its inode)
# shellcheck disable=SC2016
maps_awk='
$2 ~ /x/ && $5 != ino && / [(]deleted[)]$/ {
  sub(/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "")
  sub(/ [(]deleted[)]$/, "")
  if ($0 ~ /^\\// && $0 !~ /^\\/(memfd:|dev\\/|SYSV)/) print
}'
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \\n'; }
file_id() { stat -L -c %d:%i "$1" 2>/dev/null || echo -; }
versions=' '
nl='
'
# v= the version string in file $1 (read as data, never run), once per file identity $2
version_of() {
  case "$versions" in
    *" $2="*) v=\${versions#*" $2="}; v=\${v%% *}; return ;;
  esac
  v=$(grep -a -o -m 1 'QEMU emulator version [0-9][0-9.]*' "$1" 2>/dev/null | head -n 1)
  v=\${v#QEMU emulator version }
  case "$v" in ''|*[!0-9.]*) v=- ;; esac
  versions="$versions$2=$v "
}
echo 'ferry-qemu-probe 1'
for f in "$dir"/*.xml; do
  [ -e "$f" ] || continue
  if [ ! -f "$f" ] || [ ! -r "$f" ]; then
    echo 'ferry-qemu-probe: a libvirt status file could not be read (root is needed)' >&2
    continue
  fi
  p=$(awk -v q="'" "$status_awk" "$f")
  pid=\${p%%"$nl"*}; p=\${p#*"$nl"}
  uuid=\${p%%"$nl"*}; p=\${p#*"$nl"}
  emu=\${p%"$nl."}
  case "$uuid" in
    ''|*[!0-9a-f-]*) echo 'ferry-qemu-probe: a libvirt status file holds no domain uuid where libvirt writes it' >&2; continue ;;
  esac
  echo "domain $uuid"
  case "$pid" in ''|*[!0-9]*|0*) echo 'unknown pid'; continue ;; esac
  echo "pid $pid"
  # -uuid and the uuid as two whole arguments: the command line as hex bytes, split on NUL only
  uh=$(printf '%s' "$uuid" | od -An -v -tx1 | tr -d '\\n')
  cmd=$(od -An -v -tx1 < "/proc/$pid/cmdline" 2>/dev/null | tr -d '\\n')
  case " 00$cmd " in
    *" 00 2d 75 75 69 64 00$uh 00 "*) ;;
    *) echo 'unknown process'; continue ;;
  esac
  case "$emu" in /*) ;; *) echo 'unknown emulator'; continue ;; esac
  echo "emulator $(hex "$emu")"
  exe=$(stat -L -c '%d:%i %h' "/proc/$pid/exe" 2>/dev/null)
  case "$exe" in [0-9]*:[0-9]*' '[0-9]*) ;; *) echo 'unknown exe'; continue ;; esac
  echo "exe $exe"
  exe_id=\${exe% *}
  ino=\${exe_id#*:}
  if link=$(readlink "/proc/$pid/exe" && echo x); then link=\${link%?x}; else link=; fi
  case "$link" in *' (deleted)') link=\${link% (deleted)} ;; esac
  echo "binary $(hex "$link")"
  echo "binary_file $(file_id "$link")"
  emu_id=$(file_id "$emu")
  echo "emulator_file $emu_id"
  if [ "$(head -c 2 "$emu" 2>/dev/null)" = '#!' ]; then
    echo 'wrapper yes'
    installed=$link
    installed_id=$(file_id "$link")
  else
    echo 'wrapper no'
    installed=$emu
    installed_id=$emu_id
  fi
  version_of "/proc/$pid/exe" "$exe_id"
  echo "running $v"
  if [ "$installed_id" = - ]; then v=-; else version_of "$installed" "$installed_id"; fi
  echo "installed $v"
  awk -v ino="$ino" "$maps_awk" "/proc/$pid/maps" 2>/dev/null | sort -u | while IFS= read -r l; do
    echo "library $(hex "$l")"
  done
done`;

/**
 * One read of every running QEMU domain on a host (root: libvirt's status files and other users' /proc entries).
 * `statusDir` is for tests only; on a host the daemon's own directory is read.
 */
export function qemuProbeArgv(statusDir?: string): Argv {
  return statusDir === undefined ? ['sh', '-c', PROBE, 'ferry-qemu-probe'] : ['sh', '-c', PROBE, 'ferry-qemu-probe', statusDir];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
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
  if (unknown !== undefined) return unknownQemu((UNKNOWN[unknown] ?? (() => `the probe said "${unknown.slice(0, 40)}"`))(String(pid)), pid);
  if (!pid) return unknownQemu(UNKNOWN.pid(''));
  const emulator = fromHex(one('emulator'));
  const binary = fromHex(one('binary'));
  const [exeId, links] = (one('exe') ?? '').split(' ');
  const fileId = (k: string) => {
    const v = one(k);
    return v !== undefined && FILE_ID.test(v) ? v : undefined;
  };
  const wrapper = one('wrapper');
  if (!emulator?.startsWith('/') || binary === undefined || !FILE_ID.test(exeId ?? '') || !/^\d+$/.test(links ?? '') || (wrapper !== 'yes' && wrapper !== 'no')) {
    return unknownQemu(`the probe's answer for process ${pid} is incomplete`, pid);
  }
  const libraries = all('library').map(fromHex);
  if (libraries.some((l) => l === undefined)) return unknownQemu(`the probe's answer for process ${pid} is incomplete`, pid);
  const version = (k: string) => {
    const v = one(k);
    return v && /^\d+(?:\.\d+)*$/.test(v) ? v : undefined;
  };
  const replaced =
    Number(links) === 0 || // no name leads to the running file any more: removed, or replaced by a rename
    fileId('binary_file') !== exeId || // the path the kernel names for it now holds another file, or nothing
    (wrapper === 'no' && fileId('emulator_file') !== exeId); // the emulator path (or its symlink) leads elsewhere
  return { pid, emulator, binary, replaced, runningVersion: version('running'), installedVersion: version('installed'), replacedLibraries: libraries as string[] };
}

/**
 * The probe's answer, per domain UUID. A UUID named by two status files, or a process claimed by two domains, is
 * unknown for each of them: never credited to either.
 */
export function parseQemuProbe(text: string): Map<string, QemuBinaryState> {
  const lines = text.split('\n');
  if (lines[0] !== 'ferry-qemu-probe 1') throw new Error(`unexpected QEMU probe output: ${JSON.stringify(lines[0].slice(0, 80))}`);
  const records: ProbeRecord[] = [];
  for (const line of lines.slice(1)) {
    const space = line.indexOf(' ');
    const key = space < 0 ? line : line.slice(0, space);
    const value = space < 0 ? '' : line.slice(space + 1);
    if (key === 'domain') {
      if (UUID.test(value)) records.push({ uuid: value, values: new Map() });
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
    else if (state.pid && byPid.get(state.pid)!.length > 1) result.set(uuid, unknownQemu(`process ${state.pid} is claimed by another domain too`, state.pid));
    else result.set(uuid, state);
  }
  return result;
}

export function isStale(s: QemuBinaryState): boolean {
  if (s.unknown !== undefined) return false;
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
