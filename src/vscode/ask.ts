/**
 * Every quick pick and input box Ferry shows. They all keep ignoreFocusOut (Escape still cancels): when the palette
 * or a previous step closes, VS Code hands focus back to the last focused part asynchronously, and when that is a
 * webview (the migration monitor) the focus arrives after the next step opened and would close it.
 *
 * Titles, placeholders, prompts and validation messages quote names from outside, and VS Code renders links and
 * icons in an input box's prompt and message (renderQuickInputDescription): they are made inert here. Item labels,
 * descriptions and details, which mix Ferry's own $(icons) with names, are made inert where they are built.
 */
import * as vscode from 'vscode';
import { inert } from '../core/text';

type PickOptions = Omit<vscode.QuickPickOptions, 'canPickMany' | 'ignoreFocusOut'>;
type Validation = string | vscode.InputBoxValidationMessage | undefined | null;

const inertOptions = <T extends { title?: string; placeHolder?: string }>(options: T): T => ({
  ...options,
  title: options.title === undefined ? undefined : inert(options.title),
  placeHolder: options.placeHolder === undefined ? undefined : inert(options.placeHolder),
});

const inertValidation = (v: Validation): Validation =>
  typeof v === 'string' ? inert(v) : v ? { ...v, message: inert(v.message) } : v;

export function pickOne<T extends vscode.QuickPickItem>(
  items: readonly T[],
  options: PickOptions,
): Thenable<T | undefined> {
  return vscode.window.showQuickPick(items, { ...inertOptions(options), ignoreFocusOut: true });
}

export function pickMany<T extends vscode.QuickPickItem>(
  items: readonly T[],
  options: PickOptions,
): Thenable<readonly T[] | undefined> {
  return vscode.window.showQuickPick(items, { ...inertOptions(options), canPickMany: true, ignoreFocusOut: true });
}

export function askText(options: Omit<vscode.InputBoxOptions, 'ignoreFocusOut'>): Thenable<string | undefined> {
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
}

export function createPick<T extends vscode.QuickPickItem>(): vscode.QuickPick<T> {
  const quickPick = vscode.window.createQuickPick<T>();
  quickPick.ignoreFocusOut = true;
  return quickPick;
}
