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

/**
 * Wrap argv so that the remote command is killed when our side of the channel goes away. sshd ignores the SSH
 * "signal" request here (measured on OpenSSH 9.2), and closing a channel does not end the process behind it, so a
 * watcher holds the channel's stdin: cancelling closes stdin, the watcher's `cat` returns and TERMs the command.
 * The command itself gets /dev/null as stdin, so this is only for commands that read nothing.
 */
export function killOnHangupArgv(argv: Argv): Argv {
  // fd 3 carries the channel's stdin past sh's rule that background jobs read /dev/null
  const script = 'exec 3<&0; "$@" </dev/null 3<&- & pid=$!; { cat >/dev/null; kill -TERM "$pid"; } <&3 >/dev/null 2>&1 & exec 3<&-; wait "$pid"';
  return ['sh', '-c', script, 'ferry', ...argv];
}

/**
 * Wrap argv so that its channel can be opened now and the command run later: it starts when a line arrives on
 * stdin, and never runs if stdin ends first. Opening channels ahead of time keeps SSH set-up out of pauses.
 */
export function afterGoArgv(argv: Argv): Argv {
  return ['sh', '-c', 'read -r go && exec "$@"', 'ferry-wait', ...argv];
}

/** What to write to an afterGoArgv channel to start its command. */
export const GO = 'go\n';
