import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { killOnHangupArgv, remoteCommand, shellCommand, shellQuote } from '../../src/transport/quote';
import { hostileNames } from '../support/hostileNames';

// What sshd does with the command string: hand it to the login shell. Check with the real sh and bash.
const runIn = (shell: string, command: string) => execFileSync(shell, ['-c', command], { encoding: 'utf8' });
const NASTY = [
  "it's",
  '"dq"',
  '$(echo pwned)',
  '`echo pwned`',
  '$HOME',
  'a\nb',
  ' lead',
  'trail ',
  'čaj ü',
  '*',
  '!',
  '\\',
  "''",
  '',
  '-n',
  ';',
  '&&',
  '|',
  '#x',
  '~',
];

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
      return {
        status: 0,
        stdout: execFileSync('sh', ['-c', `sleep ${stdinOpenFor} | ${shellCommand(killOnHangupArgv(argv))}`], {
          encoding: 'utf8',
        }),
      };
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
    expect(wrapped(['sleep', '30'], 0.3).status).toBe(143); // TERMed
  });
});

// sshd runs `<login shell> -c <exec request>`; these are login shells SSH users really have
const LOGIN_SHELLS = [
  '/bin/sh',
  '/bin/dash',
  '/bin/bash',
  '/usr/bin/zsh',
  '/usr/bin/mksh',
  '/usr/bin/fish',
  '/usr/bin/tcsh',
];

describe('the exec request, whatever the login shell', () => {
  const hostile = [...hostileNames().map((h) => h.name), ...NASTY, 'a\nb\u2028c'];
  it.each(LOGIN_SHELLS)('%s passes every hostile argument through byte-exact and runs none of them', (shell) => {
    // a fresh working directory (where a command run by mistake would leave its file) and home, removed after
    const cwd = mkdtempSync(join(tmpdir(), 'ferry-quote-'));
    const home = mkdtempSync(join(tmpdir(), 'ferry-home-'));
    try {
      const out = execFileSync(shell, ['-c', remoteCommand(shellCommand(['printf', '%s\\0', ...hostile]))], {
        encoding: 'utf8',
        cwd,
        env: { PATH: process.env.PATH, HOME: home },
      });
      expect(out.split('\0').slice(0, -1)).toEqual(hostile);
      expect(readdirSync(cwd)).toEqual([]);
    } finally {
      for (const dir of [cwd, home]) rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(LOGIN_SHELLS)('%s runs a multi-line script with its exit status', (shell) => {
    const script = ['sh', '-c', 'for x in "$@"; do\n  printf "<%s>" "$x"\ndone\nexit 7', 'ferry', "it's", '$(x)'];
    let status = 0;
    let stdout = '';
    try {
      execFileSync(shell, ['-c', remoteCommand(shellCommand(script))], { encoding: 'utf8' });
    } catch (e) {
      ({ status, stdout } = e as { status: number; stdout: string });
    }
    expect([status, stdout]).toEqual([7, "<it's><$(x)>"]);
  });

  it('shows the login shell only characters that are quiet inside single quotes', () => {
    const request = remoteCommand(shellCommand(['virsh', 'list', hostileNames()[0].name]));
    expect(request).toMatch(/^exec \/bin\/sh -c 'eval "\$\(printf %s [A-Za-z0-9+/=]+ \| base64 -d\)"'$/);
  });

  it('quotes a leading = (zsh would expand =ls to a path)', () => {
    expect(shellQuote('=ls')).toBe("'=ls'");
    expect(shellQuote('a=b')).toBe('a=b');
  });
});
