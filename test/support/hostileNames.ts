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
