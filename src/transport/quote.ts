/**
 * The one place where an argv array becomes a remote command. The argv becomes a POSIX sh command line: every
 * argument single-quoted (nothing is special inside single quotes; a quote itself is written as '\''), plainly safe
 * ones left bare for readable logs. sshd hands an exec request to the SSH user's login shell, which may be fish or
 * tcsh, whose quoting differs; so the login shell never sees that line, only remoteCommand()'s fixed bootstrap.
 */
import type { Argv } from '../core/virsh';
import KILL_ON_HANGUP from './scripts/kill-on-hangup.sh';

/** bare in a sh line: no shell expands these (a leading `=` would be, by zsh: `=ls` is a path) */
const SAFE = /^[\w@%+:,./-][\w@%+=:,./-]*$/;
/** what one argument may hold (Linux MAX_ARG_STRLEN is 128 KiB; base64 grows the line by a third) */
const MAX_ENCODED = 120 * 1024;

export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument cannot contain a NUL byte');
  if (SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellCommand(argv: Argv): string {
  if (argv.length === 0) throw new Error('empty argv');
  return argv.map(shellQuote).join(' ');
}

/**
 * The exec request for a sh command line. What the login shell parses is always the same shape: `exec /bin/sh -c`
 * and one single-quoted word holding only `eval "$(printf %s …`, base64 and `| base64 -d)"` — inside single quotes
 * none of that means anything to sh, bash, zsh, fish or tcsh. /bin/sh decodes the line and runs it; no data of a
 * user's or a host's is ever parsed by the login shell.
 */
export function remoteCommand(line: string): string {
  const encoded = Buffer.from(line, 'utf8').toString('base64');
  if (encoded.length > MAX_ENCODED) throw new Error(`a remote command of ${line.length} bytes is too long to send`);
  return `exec /bin/sh -c 'eval "$(printf %s ${encoded} | base64 -d)"'`;
}

/**
 * Wrap argv so that the remote command is killed when our side of the channel goes away. sshd ignores the SSH
 * "signal" request here (measured on OpenSSH 9.2), and closing a channel does not end the process behind it, so a
 * watcher holds the channel's stdin: cancelling closes stdin, the watcher's `cat` returns and TERMs the command.
 * The command itself gets /dev/null as stdin, so this is only for commands that read nothing. (fd 3 carries the
 * channel's stdin past sh's rule that background jobs read /dev/null: scripts/kill-on-hangup.sh.)
 */
export function killOnHangupArgv(argv: Argv): Argv {
  return ['sh', '-c', KILL_ON_HANGUP, 'ferry', ...argv];
}
