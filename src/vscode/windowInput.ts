/**
 * What a person is asked: the window's quick input and modal messages (the UserInput of every command a person runs).
 *
 * The prompts keep ignoreFocusOut (Escape still cancels): when the palette or a previous step closes, VS Code hands
 * focus back to the last focused part asynchronously, and when that is a webview (the migration monitor) the focus
 * arrives after the next step opened and would close it.
 *
 * Titles, placeholders, prompts and validation messages quote names from outside, and VS Code renders links and
 * icons in an input box's prompt and message (renderQuickInputDescription): they are made inert here. Item labels,
 * descriptions and details, which mix Ferry's own $(icons) with names, are made inert where they are built.
 */
import * as vscode from 'vscode';
import { inert } from '../core/text';
import { askModal } from './notify';
import type { UserInput } from './userInput';

type Validation = string | vscode.InputBoxValidationMessage | undefined | null;

const inertOptions = <T extends { title?: string; placeHolder?: string }>(options: T): T => ({
  ...options,
  title: options.title === undefined ? undefined : inert(options.title),
  placeHolder: options.placeHolder === undefined ? undefined : inert(options.placeHolder),
});

const inertValidation = (v: Validation): Validation =>
  typeof v === 'string' ? inert(v) : v ? { ...v, message: inert(v.message) } : v;

export const windowInput: UserInput = {
  pickOne: async (items, options) =>
    vscode.window.showQuickPick(items, { ...inertOptions(options), ignoreFocusOut: true }),
  pickMany: async (items, options) =>
    vscode.window.showQuickPick(items, { ...inertOptions(options), canPickMany: true, ignoreFocusOut: true }),
  askText: async (options) => {
    const validate = options.validateInput;
    return vscode.window.showInputBox({
      ...inertOptions(options),
      prompt: options.prompt === undefined ? undefined : inert(options.prompt),
      validateInput:
        validate &&
        ((value) => {
          const v = validate(value);
          return v && typeof v === 'object' && 'then' in v ? v.then(inertValidation) : inertValidation(v as Validation);
        }),
      ignoreFocusOut: true,
    });
  },
  askModal: async (severity, message, detail, ...items) => askModal(severity, message, detail, ...items),
  pickOrType: async (items, options) => {
    const quickPick = vscode.window.createQuickPick<(typeof items)[number]>();
    quickPick.ignoreFocusOut = true;
    quickPick.title = inert(options.title);
    quickPick.placeholder = inert(options.placeHolder);
    quickPick.items = items;
    quickPick.onDidChangeValue((value) => {
      const custom = options.typed(value);
      quickPick.items = custom ? [custom, ...items] : items;
    });
    try {
      return await new Promise<string | undefined>((resolve) => {
        quickPick.onDidAccept(() => {
          const picked = quickPick.selectedItems[0]?.value ?? quickPick.value;
          if (picked.trim()) resolve(picked);
        });
        quickPick.onDidHide(() => resolve(undefined));
        quickPick.show();
      });
    } finally {
      quickPick.dispose();
    }
  },
};
