/** One wrapper for every command: errors become a clear message with what to do, and a way to the log. */
import * as vscode from 'vscode';
import { LibvirtError } from '../services/libvirtError';
import { SshError } from '../transport/sshError';
import type { Logger } from '../transport/logger';
import { notificationText, notify } from './notify';

export class UserCancelled extends Error {}

export function describeError(e: unknown): string {
  if (e instanceof SshError) return e.hint ? `${e.message}. ${e.hint}` : e.message;
  if (e instanceof LibvirtError) return `${e.host}: libvirt: ${e.message}`;
  return (e as Error)?.message ?? String(e);
}

export interface CommandFailure {
  id: string;
  /** the error's text as the notification shows it (outside names in it made inert) */
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
      // error texts quote domain names and what hosts print: the notification gets them inert, and so does failed
      const shown = notificationText(text);
      failed({ id, message: shown });
      void notify('error', shown, 'Show Log').then((pick) => pick && showLog());
      return undefined;
    }
  });
}
