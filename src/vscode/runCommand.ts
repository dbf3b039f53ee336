/** One wrapper for every command: errors become a clear message with what to do, and a way to the log. */
import * as vscode from 'vscode';
import { LibvirtError } from '../services/inventory';
import { SshError } from '../transport/sshError';
import type { Logger } from '../transport/logger';

export class UserCancelled extends Error {}

export function describeError(e: unknown): string {
  if (e instanceof SshError) return e.hint ? `${e.message}. ${e.hint}` : e.message;
  if (e instanceof LibvirtError) return `${e.host}: libvirt: ${e.message}`;
  return (e as Error)?.message ?? String(e);
}

export interface CommandFailure {
  id: string;
  message: string;
}

export function registerCommand(
  id: string,
  handler: (...args: never[]) => unknown,
  log: Logger,
  showLog: () => void,
  failed: (failure: CommandFailure) => void,
): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
    try {
      return await (handler as (...a: unknown[]) => unknown)(...args);
    } catch (e) {
      if (e instanceof UserCancelled || (e instanceof SshError && e.kind === 'cancelled')) return undefined;
      const text = describeError(e);
      log.error(`${id}: ${text}`);
      failed({ id, message: text });
      void vscode.window.showErrorMessage(text, 'Show Log').then((pick) => pick && showLog());
      return undefined;
    }
  });
}
