import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/transport/logger';
import { askModal, notify, withProgress } from '../../src/vscode/notify';
import type { FerryContext } from '../../src/vscode/context';
import type { FerryViews } from '../../src/commands/context';
import { CommandRunner } from '../../src/commands/runner';
import { windowInput } from '../../src/vscode/windowInput';

/** what VS Code was handed: every message, dialog, progress and input box, and the commands registered (vi.mock is hoisted) */
const seen = vi.hoisted(() => ({
  messages: [] as { message: string; options?: { modal?: boolean; detail?: string } }[],
  progress: [] as string[],
  inputs: [] as Record<string, unknown>[],
  commands: new Map<string, (...args: unknown[]) => unknown>(),
}));
vi.mock('vscode', async () => {
  const show = (message: string, ...rest: unknown[]) => {
    seen.messages.push({
      message,
      options: typeof rest[0] === 'object' ? (rest[0] as { modal?: boolean; detail?: string }) : undefined,
    });
    return Promise.resolve(undefined);
  };
  return {
    l10n: { t: (await import('../support/l10n')).l10nT },
    ProgressLocation: { Notification: 15, Window: 10 },
    InputBoxValidationSeverity: { Info: 1 },
    commands: {
      registerCommand: (id: string, f: (...args: unknown[]) => unknown) => (seen.commands.set(id, f), { dispose() {} }),
    },
    window: {
      showErrorMessage: show,
      showWarningMessage: show,
      showInformationMessage: show,
      withProgress: (options: { title?: string }, task: (p: unknown, t: unknown) => unknown) => {
        if (options.title !== undefined) seen.progress.push(options.title);
        return task(
          {
            report: ({ message }: { message?: string }) => void (message !== undefined && seen.progress.push(message)),
          },
          {},
        );
      },
      showInputBox: (options: Record<string, unknown>) => (seen.inputs.push(options), Promise.resolve(undefined)),
      showQuickPick: (_items: unknown, options: Record<string, unknown>) => (
        seen.inputs.push(options),
        Promise.resolve(undefined)
      ),
    },
  };
});

/** VS Code's link syntax in notifications and input box messages (src/vs/base/common/linkedText.ts) and its icons */
const LINK = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/i;
const ICON = /(?<!\\)\$\([A-Za-z0-9-]+(?:~[A-Za-z]+)?\)/;
const NAME = '[click](command:workbench.action.terminal.new) $(alert)';
const live = (text: string) => LINK.test(text) || ICON.test(text);

describe('what Ferry hands VS Code to show holds no live link or icon from a name', () => {
  it("the command wrapper shows a failing command's error inert, and reports the same text to its caller", async () => {
    const failures: string[] = [];
    const ferry = { log: silentLogger, showLog: () => {} } as unknown as FerryContext;
    const views = {} as FerryViews;
    new CommandRunner(ferry, views, (f) => failures.push(f.message)).register('ferry.test.fails', () => {
      throw new Error(`${NAME} has no migration running that Ferry follows.`);
    });
    await seen.commands.get('ferry.test.fails')!();
    const shown = seen.messages.at(-1)!.message;
    expect(live(shown)).toBe(false);
    expect(shown.replace(/\u2060/g, '')).toBe(`${NAME} has no migration running that Ferry follows.`);
    expect(failures).toEqual([shown]);
  });

  it('notifications, modal messages with their detail, progress titles and messages', async () => {
    await notify('info', `Exported ${NAME}'s run.`);
    await askModal('warning', `Force off "${NAME}"?`, `${NAME} on hostA\n\nline two`, 'Force Off');
    await withProgress({ location: 15, title: `Migrating ${NAME} a → b` }, async (progress) =>
      progress.report({ message: `${NAME}: leg 1 of 2` }),
    );
    for (const m of seen.messages.slice(-2)) expect(live(m.message)).toBe(false);
    const modal = seen.messages.at(-1)!;
    expect(modal.options?.modal).toBe(true);
    expect(live(modal.options!.detail!)).toBe(false);
    expect(modal.options!.detail!.split('\n')).toHaveLength(3); // its own line breaks kept
    for (const p of seen.progress.slice(-2)) expect(live(p)).toBe(false);
  });

  it('input box prompts and validation messages (VS Code renders links there) and quick pick titles', async () => {
    await windowInput.askText({
      title: `Keep TCP connections of ${NAME}`,
      prompt: `Bandwidth for ${NAME}`,
      validateInput: () => `10.0.1.101 is an address of ${NAME}`,
    });
    const box = seen.inputs.at(-1)! as { title: string; prompt: string; validateInput: (v: string) => unknown };
    expect(live(box.title) || live(box.prompt)).toBe(false);
    expect(live(box.validateInput('10.0.1.101') as string)).toBe(false);
    await windowInput.askText({
      prompt: 'rate',
      validateInput: async () => ({ message: `stored for ${NAME}`, severity: 1 }),
    });
    const infoBox = seen.inputs.at(-1)! as {
      validateInput: (v: string) => Promise<{ message: string; severity: number }>;
    };
    const info = await infoBox.validateInput('1');
    expect(live(info.message)).toBe(false);
    expect(info.severity).toBe(1);
    await windowInput.pickOne([], { title: `Compare ${NAME}`, placeHolder: `Interfaces of ${NAME}` });
    const pick = seen.inputs.at(-1)! as { title: string; placeHolder: string; ignoreFocusOut: boolean };
    expect(live(pick.title) || live(pick.placeHolder)).toBe(false);
    expect(pick.ignoreFocusOut).toBe(true);
  });
});
