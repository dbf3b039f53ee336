/**
 * Every quick pick and input box Ferry shows. They all keep ignoreFocusOut (Escape still cancels): when the palette
 * or a previous step closes, VS Code hands focus back to the last focused part asynchronously, and when that is a
 * webview (the migration monitor) the focus arrives after the next step opened and would close it.
 */
import * as vscode from 'vscode';

type PickOptions = Omit<vscode.QuickPickOptions, 'canPickMany' | 'ignoreFocusOut'>;

export function pickOne<T extends vscode.QuickPickItem>(items: readonly T[], options: PickOptions): Thenable<T | undefined> {
  return vscode.window.showQuickPick(items, { ...options, ignoreFocusOut: true });
}

export function pickMany<T extends vscode.QuickPickItem>(items: readonly T[], options: PickOptions): Thenable<readonly T[] | undefined> {
  return vscode.window.showQuickPick(items, { ...options, canPickMany: true, ignoreFocusOut: true });
}

export function askText(options: Omit<vscode.InputBoxOptions, 'ignoreFocusOut'>): Thenable<string | undefined> {
  return vscode.window.showInputBox({ ...options, ignoreFocusOut: true });
}

export function createPick<T extends vscode.QuickPickItem>(): vscode.QuickPick<T> {
  const quickPick = vscode.window.createQuickPick<T>();
  quickPick.ignoreFocusOut = true;
  return quickPick;
}
