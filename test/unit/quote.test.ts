import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { killOnHangupArgv, shellCommand, shellQuote } from '../../src/transport/quote';

// What sshd does with the command string: hand it to the login shell. Check with the real sh and bash.
const runIn = (shell: string, command: string) => execFileSync(shell, ['-c', command], { encoding: 'utf8' });
const NASTY = ["it's", '"dq"', '$(echo pwned)', '`echo pwned`', '$HOME', 'a\nb', ' lead', 'trail ', 'čaj ü', '*', '!', '\\', "''", '', '-n', ';', '&&', '|', '#x', '~'];

describe('shell quoting (the one place argv becomes a command line)', () => {
  it.each(['sh', 'bash'])('round-trips hostile arguments through %s unchanged', (shell) => {
    const out = runIn(shell, shellCommand(['printf', '%s\\0', ...NASTY]));
    expect(out.split('\0').slice(0, -1)).toEqual(NASTY);
  });

  it('leaves plainly safe words bare, for readable logs', () => {
    expect(shellCommand(['virsh', '-c', 'qemu:///system', 'list', '--all'])).toBe('virsh -c qemu:///system list --all');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe("''");
  });

  it('refuses NUL bytes and empty argv', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
    expect(() => shellCommand([])).toThrow(/empty/);
  });

  // stdin is the hang-up signal: it stays open (sleep) while the command runs, as an SSH channel's does
  const wrapped = (argv: string[], stdinOpenFor: number) => {
    try {
      return { status: 0, stdout: execFileSync('sh', ['-c', `sleep ${stdinOpenFor} | ${shellCommand(killOnHangupArgv(argv))}`], { encoding: 'utf8' }) };
    } catch (e) {
      return e as { status: number; stdout: string };
    }
  };

  it('the hang-up wrapper keeps argv intact and the exit code', () => {
    const r = wrapped(['sh', '-c', 'printf "%s" "$1"; exit 3', 'x', "it's $(x)"], 1);
    expect(r.status).toBe(3);
    expect(r.stdout).toBe("it's $(x)");
  });

  it('the hang-up wrapper ends the command when its stdin closes', () => {
    const started = Date.now();
    expect(wrapped(['sleep', '30'], 0.3).status).toBe(143); // TERMed
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
