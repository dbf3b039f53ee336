/** One wrapper for every command: errors become a clear message with what to do, and a way to the log. */
import * as vscode from 'vscode';
import { LibvirtError } from '../services/libvirtError';
import { SshError } from '../transport/sshError';
import type { FerryContext } from '../vscode/context';
import { notificationText, notify } from '../vscode/notify';
import type { Answer } from '../vscode/userInput';
import { ScriptedInput, UserCancelled } from '../vscode/userInput';
import { windowInput } from '../vscode/windowInput';
import type { CommandContext, FerryViews } from './context';

export function describeError(e: unknown): string {
  if (e instanceof SshError) return e.hint ? `${e.message}. ${e.hint}` : e.message;
  if (e instanceof LibvirtError) return vscode.l10n.t('{0}: libvirt: {1}', e.host, e.message);
  return (e as Error)?.message ?? String(e);
}

export interface CommandFailure {
  id: string;
  /** the error's text as the notification shows it (outside names in it made inert) */
  message: string;
}

export type CommandHandler = (ctx: CommandContext, ...args: never[]) => unknown;

/**
 * Registers Ferry's commands. Each run gets its own context: the services, and the window to ask a person, or the
 * answers a test or tool scripted for that run (Container Tools' runWithInputs, without a second code path).
 */
export class CommandRunner {
  private readonly scripts = new Map<string, ScriptedInput[]>();

  constructor(
    private readonly ferry: FerryContext,
    private readonly views: FerryViews,
    private readonly failed: (failure: CommandFailure) => void,
  ) {}

  /** the next run of `command` is answered from `answers`, in order; the script tells afterwards what was asked */
  answerNextRun(command: string, answers: readonly Answer[]): ScriptedInput {
    const script = new ScriptedInput(answers);
    this.scripts.set(command, [...(this.scripts.get(command) ?? []), script]);
    return script;
  }

  register(id: string, handler: CommandHandler): vscode.Disposable {
    return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      const script = this.scripts.get(id)?.shift();
      const ctx: CommandContext = { ...this.ferry, ...this.views, command: id, ui: script ?? windowInput };
      try {
        const result = await (handler as (c: CommandContext, ...a: unknown[]) => unknown)(ctx, ...args);
        if (script?.unused.length)
          throw new Error(vscode.l10n.t('{0} scripted answer(s) left: nothing asked for them', script.unused.length));
        return result;
      } catch (e) {
        if (e instanceof UserCancelled || (e instanceof SshError && e.kind === 'cancelled')) return undefined;
        const text = describeError(e);
        this.ferry.log.error(`${id}: ${text}`);
        // error texts quote domain names and what hosts print: the notification gets them inert, and so does failed
        const shown = notificationText(text);
        this.failed({ id, message: shown });
        void notify('error', shown, vscode.l10n.t('Show Log')).then((pick) => pick && this.ferry.showLog());
        return undefined;
      }
    });
  }
}
