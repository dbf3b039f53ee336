/**
 * The one place where an argv array becomes a remote shell command line. sshd hands the exec request to the
 * user's login shell, so every argument is single-quoted (POSIX: nothing is special inside single quotes; a
 * quote itself is written as '\''). Arguments that are plainly safe stay bare, for readable logs.
 */
import type { Argv } from '../core/virsh';

const SAFE = /^[\w@%+=:,./-]+$/;

export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument cannot contain a NUL byte');
  if (SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellCommand(argv: Argv): string {
  if (argv.length === 0) throw new Error('empty argv');
  return argv.map(shellQuote).join(' ');
}
