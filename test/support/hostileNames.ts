/**
 * Hostile strings by class, for domain names and arguments: what tenants can name a VM and what a host can print.
 * Each class holds a payload that creates a file named ferry-pwned-<class> in the working directory if any shell
 * ever runs it, so a test checks both that the string arrives intact and that nothing was executed.
 * No '/' and no LF: libvirt refuses both in domain names.
 */
const payload = (cls: string) => `touch ferry-pwned-${cls}`;

export const HOSTILE_CLASSES: Record<string, (cls: string) => string> = {
  singleQuote: (c) => `a'b'; ${payload(c)}; '`,
  doubleQuote: (c) => `a"b"; ${payload(c)}; "`,
  dollarParen: (c) => `vm $(${payload(c)})`,
  backticks: (c) => `vm \`${payload(c)}\``,
  fishSubst: (c) => `vm (${payload(c)})`,
  separators: (c) => `vm; ${payload(c)} | x & y < z > w && ${payload(c)}-2`,
  leadingDash: () => '-vm',
  leadingDashes: () => '--help',
  leadingEquals: () => '=ls',
  ferryMarkers: () => 'ferry-exit=0 @domain @leases @neighbours',
  lineSeparators: (c) => `ls\u2028$(${payload(c)})\u2029sep`,
  carriageReturn: (c) => `cr\r${payload(c)}`,
  variables: () => '$HOME ${PATH} $status $argv[1] %1',
  tcshHistory: (c) => `vm !! !-1 !${payload(c)} \\!x`,
  globsAndTilde: () => 'vm * ? [a-z] ~ {a,b} #comment',
  backslashes: (c) => `vm \\ \\\\ \\'; ${payload(c)}; \\"`,
  nonAscii: () => 'čaj ü 日本語 emoji-🚢',
  long: () => `long-${'x'.repeat(200)}`,
};

export const hostileNames = (prefix = ''): { cls: string; name: string }[] =>
  Object.entries(HOSTILE_CLASSES).map(([cls, make]) => ({ cls, name: `${prefix}${make(cls)}` }));

/**
 * Names aimed at an interactive virsh (readline acts on edit keys even from a pipe) and at the answers' framing:
 * each erases or completes its way to a command against the domain named `victim`, or looks like a marker, a
 * prompt or a listing line. XML 1.0 holds DEL, TAB and C1 controls but no other C0 control, so libvirt cannot be
 * given those (the lab test shows it refusing one).
 */
export const sessionHostileNames = (victim: string, victimUuid: string): { cls: string; name: string }[] => [
  { cls: 'del', name: `${'\x7f'.repeat(16)}undefine ${victim}` },
  { cls: 'delQuoted', name: `x'${'\x7f'.repeat(20)}destroy ${victim}` },
  { cls: 'tab', name: `undef\t\t${victim}\tx` },
  { cls: 'c1', name: `c1\u0085\u009b2J\u008d ${victim}` },
  { cls: 'lineSeparatorMarker', name: `ls\u2028ferry-answered\u2029ferry-next\u2028${victimUuid}` },
  { cls: 'markers', name: 'ferry-answered ferry-next @names' },
  { cls: 'prompt', name: `virsh # undefine ${victim}` },
  { cls: 'command', name: `undefine ${victim}` },
  { cls: 'quit', name: 'quit' },
];
