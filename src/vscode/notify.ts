/**
 * Every notification, modal message and progress Ferry shows. Their text carries names from outside (domains,
 * interfaces, hosts, imported runs) and what hosts print, and VS Code renders `[label](command:…)` in a notification
 * (and in a progress notification's title and message) as a link that runs the command, `$(icon)` in the status bar
 * (window progress). So each text is made inert here, once (core/text.ts), and a call site cannot forget it; the
 * lint rule in eslint.config.mjs keeps the window's message and progress calls to this file.
 */
import * as vscode from 'vscode';
import { inert } from '../core/text';

export type Severity = 'info' | 'warning' | 'error';

function show<T extends string>(
  severity: Severity,
  message: string,
  options: vscode.MessageOptions,
  items: T[],
): Thenable<T | undefined> {
  if (severity === 'error') return vscode.window.showErrorMessage(message, options, ...items);
  if (severity === 'warning') return vscode.window.showWarningMessage(message, options, ...items);
  return vscode.window.showInformationMessage(message, options, ...items);
}

/** The text a notification shows for this message (VS Code trims it too); the same text however often applied. */
export function notificationText(message: string): string {
  return inert(message.trim());
}

/** A notification; resolves to the item picked, if any. */
export function notify<T extends string>(severity: Severity, message: string, ...items: T[]): Thenable<T | undefined> {
  return show(severity, notificationText(message), {}, items);
}

/** A modal message with a detail under it (its line breaks kept, each line inert) and buttons; resolves to the one picked. */
export function askModal<T extends string>(
  severity: Severity,
  message: string,
  detail: string | undefined,
  ...items: T[]
): Thenable<T | undefined> {
  return show(severity, inert(message), { modal: true, detail: detail?.split('\n').map(inert).join('\n') }, items);
}

export type ProgressReport = { message?: string; increment?: number };

/** withProgress, its title and every message reported made inert. */
export function withProgress<R>(
  options: vscode.ProgressOptions,
  task: (progress: vscode.Progress<ProgressReport>, token: vscode.CancellationToken) => Thenable<R>,
): Thenable<R> {
  return vscode.window.withProgress(
    { ...options, title: options.title === undefined ? undefined : inert(options.title) },
    (progress, token) =>
      task(
        {
          report: (value) =>
            progress.report(value.message === undefined ? value : { ...value, message: inert(value.message) }),
        },
        token,
      ),
  );
}
