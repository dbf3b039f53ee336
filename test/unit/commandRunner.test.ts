import { describe, expect, it, vi } from 'vitest';
import { inert } from '../../src/core/text';
import { silentLogger } from '../../src/transport/logger';
import type { CommandContext, FerryViews } from '../../src/commands/context';
import type { FerryContext } from '../../src/vscode/context';
import { CommandRunner } from '../../src/commands/runner';
import { UserCancelled } from '../../src/vscode/userInput';
import { windowInput } from '../../src/vscode/windowInput';

/** the commands VS Code was handed, to run them as it would (vi.mock is hoisted) */
const registered = vi.hoisted(() => new Map<string, (...args: unknown[]) => Promise<unknown>>());
vi.mock('vscode', async () => ({
  l10n: { t: (await import('../support/l10n')).l10nT },
  InputBoxValidationSeverity: { Info: 1, Warning: 2, Error: 3 },
  commands: {
    registerCommand: (id: string, f: (...args: unknown[]) => Promise<unknown>) => (
      registered.set(id, f),
      { dispose() {} }
    ),
  },
  window: { showErrorMessage: () => Promise.resolve(undefined) },
}));

const ferry = { log: silentLogger, showLog: () => {} } as unknown as FerryContext;
const views = {} as FerryViews;

/** a command asking what Migrate Domain asks: a target among labelled hosts, a number, a confirmation */
async function migrateLike(ctx: CommandContext): Promise<string> {
  const hosts = ['hostB', '[x](command:y) $(alert)'].map((alias) => ({ label: `$(server) ${inert(alias)}`, alias }));
  const target = await ctx.ui.pickOne(hosts, { title: 'Migrate tiny1 to…', placeHolder: 'Target host' });
  if (!target) throw new UserCancelled();
  const mibps = await ctx.ui.askText({
    prompt: 'Bandwidth in MiB/s',
    validateInput: (t) => (/^[1-9]\d*$/.test(t) ? undefined : 'a whole number above 0'),
  });
  if (mibps === undefined) throw new UserCancelled();
  const go = await ctx.ui.askModal('warning', `Migrate to ${target.alias}?`, `at ${mibps} MiB/s`, 'Migrate');
  if (go !== 'Migrate') throw new UserCancelled();
  return `${target.alias} at ${mibps}`;
}

function setUp(handler: (ctx: CommandContext) => Promise<unknown>) {
  const failures: string[] = [];
  const runner = new CommandRunner(ferry, views, (f) => failures.push(f.message));
  runner.register('ferry.test.migrate', handler);
  const run = () => registered.get('ferry.test.migrate')!();
  return { runner, failures, run };
}

describe('a command run answered from a script (the context object every command gets)', () => {
  it('answers each question in order, by label without its icon or inert joiners, and records what was asked', async () => {
    const { runner, failures, run } = setUp(migrateLike);
    const script = runner.answerNextRun('ferry.test.migrate', ['[x](command:y) $(alert)', '40', 'Migrate']);
    expect(await run()).toBe('[x](command:y) $(alert) at 40');
    expect(failures).toEqual([]);
    expect(script.asked.map((a) => a.kind)).toEqual(['pickOne', 'askText', 'askModal']);
    expect(script.asked[2].text).toBe('Migrate to [x](command:y) $(alert)?\nat 40 MiB/s');
  });

  it('only the next run is scripted; the one after asks the window', async () => {
    let ui: unknown;
    const { runner, run } = setUp(async (ctx) => void (ui = ctx.ui));
    runner.answerNextRun('ferry.test.migrate', []);
    await run();
    expect(ui).not.toBe(windowInput);
    await run();
    expect(ui).toBe(windowInput);
  });

  it('Escape (undefined) cancels quietly, as a person pressing it would', async () => {
    const { runner, failures, run } = setUp(migrateLike);
    runner.answerNextRun('ferry.test.migrate', ['hostB', undefined]);
    expect(await run()).toBeUndefined();
    expect(failures).toEqual([]);
  });

  it('an answer no item carries fails the run, naming what was offered', async () => {
    const { runner, failures, run } = setUp(migrateLike);
    runner.answerNextRun('ferry.test.migrate', ['hostC']);
    await run();
    expect(failures[0].replace(/\u2060/g, '')).toBe(
      '"Migrate tiny1 to…: Target host" offers no "hostC" (it offers "hostB", "[x](command:y) $(alert)")',
    );
  });

  it('a text the input box would refuse fails the run with its validation message', async () => {
    const { runner, failures, run } = setUp(migrateLike);
    runner.answerNextRun('ferry.test.migrate', ['hostB', '0', 'Migrate']);
    await run();
    expect(failures).toEqual(['"Bandwidth in MiB/s" refuses "0": a whole number above 0']);
  });

  it('a validation message of severity Info only informs; one of severity Error refuses, as the window does', async () => {
    const asks = (severity: number) => async (ctx: CommandContext) =>
      ctx.ui.askText({ prompt: 'Rate', validateInput: () => ({ message: 'stored as 375 kB/s', severity }) });
    for (const [severity, expected] of [
      [1, []],
      [3, ['"Rate" refuses "3": stored as 375 kB/s']],
    ] as const) {
      const { runner, failures, run } = setUp(asks(severity));
      runner.answerNextRun('ferry.test.migrate', ['3']);
      await run();
      expect(failures).toEqual(expected);
    }
  });

  it('a button the modal does not have, a question without an answer and answers left over all fail the run', async () => {
    const { runner, failures, run } = setUp(migrateLike);
    runner.answerNextRun('ferry.test.migrate', ['hostB', '40', 'Migrate Anyway']);
    runner.answerNextRun('ferry.test.migrate', ['hostB']);
    runner.answerNextRun('ferry.test.migrate', ['hostB', '40', 'Migrate', 'more']);
    await run();
    await run();
    await run();
    expect(failures).toEqual([
      '"Migrate to hostB?" has no button "Migrate Anyway" (it has Migrate)',
      'no scripted answer for askText "Bandwidth in MiB/s"',
      '1 scripted answer(s) left: nothing asked for them',
    ]);
  });
});
