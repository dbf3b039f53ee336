/**
 * Every question a command asks goes through a UserInput, which the command finds in its context (Container Tools'
 * IActionContext.ui): the window's quick picks, input boxes and modal messages for a person, or a ScriptedInput that
 * answers from a list, for a test or another tool driving the very same command.
 */
import * as vscode from 'vscode';
import type { Severity } from './notify';

/** The person closed a prompt or declined: the command stops, and that is no error. */
export class UserCancelled extends Error {}

export type PickOptions = Omit<vscode.QuickPickOptions, 'canPickMany' | 'ignoreFocusOut'>;
export type TextOptions = Omit<vscode.InputBoxOptions, 'ignoreFocusOut'>;

export interface UserInput {
  pickOne<T extends vscode.QuickPickItem>(items: readonly T[], options: PickOptions): Promise<T | undefined>;
  pickMany<T extends vscode.QuickPickItem>(
    items: readonly T[],
    options: PickOptions,
  ): Promise<readonly T[] | undefined>;
  askText(options: TextOptions): Promise<string | undefined>;
  /** a modal message with a detail under it and buttons; resolves to the button pressed */
  askModal<T extends string>(
    severity: Severity,
    message: string,
    detail: string | undefined,
    ...items: T[]
  ): Promise<T | undefined>;
  /** one of the items' values, or what was typed instead */
  pickOrType<T extends vscode.QuickPickItem & { value: string }>(
    items: readonly T[],
    options: { title: string; placeHolder: string; typed: (value: string) => T | undefined },
  ): Promise<string | undefined>;
}

/**
 * One answer per question, in order: the label of the item to pick (its $(icon) and the invisible joiners of inert()
 * left out), the labels to pick, the text to type or the button to press; undefined is Escape.
 */
export type Answer = string | readonly string[] | undefined;

/** A question that was asked, as the window would have shown it: what a test reads back. */
export interface Asked {
  kind: 'pickOne' | 'pickMany' | 'askText' | 'askModal' | 'pickOrType';
  text: string;
}

const plainLabel = (label: string) => label.replace(/\u2060/g, '').replace(/^\$\([\w-]+(~[\w-]+)?\)\s*/, '');

/** Answers from a list, and fails the command on a question it has no answer for or an answer that fits no choice. */
export class ScriptedInput implements UserInput {
  readonly asked: Asked[] = [];
  private readonly answers: Answer[];

  constructor(answers: readonly Answer[]) {
    this.answers = [...answers];
  }

  /** the answers no question took */
  get unused(): readonly Answer[] {
    return this.answers;
  }

  private next(kind: Asked['kind'], text: string): Answer {
    this.asked.push({ kind, text });
    if (!this.answers.length) throw new Error(vscode.l10n.t('no scripted answer for {0} "{1}"', kind, text));
    return this.answers.shift();
  }

  private pick<T extends vscode.QuickPickItem>(items: readonly T[], label: string, question: string): T {
    const item = items.find((i) => plainLabel(i.label) === label || i.label === label);
    if (item) return item;
    throw new Error(
      vscode.l10n.t(
        '"{0}" offers no "{1}" (it offers {2})',
        question,
        label,
        items.map((i) => `"${plainLabel(i.label)}"`).join(', '),
      ),
    );
  }

  async pickOne<T extends vscode.QuickPickItem>(items: readonly T[], options: PickOptions): Promise<T | undefined> {
    const question = [options.title, options.placeHolder].filter(Boolean).join(': ');
    const answer = this.next('pickOne', question);
    if (answer === undefined) return undefined;
    if (typeof answer !== 'string')
      throw new Error(vscode.l10n.t('"{0}" picks one item, the script gives several', question));
    return this.pick(items, answer, question);
  }

  async pickMany<T extends vscode.QuickPickItem>(
    items: readonly T[],
    options: PickOptions,
  ): Promise<readonly T[] | undefined> {
    const question = [options.title, options.placeHolder].filter(Boolean).join(': ');
    const answer = this.next('pickMany', question);
    if (answer === undefined) return undefined;
    return (typeof answer === 'string' ? [answer] : answer).map((label) => this.pick(items, label, question));
  }

  async askText(options: TextOptions): Promise<string | undefined> {
    const question = [options.title, options.prompt].filter(Boolean).join(': ');
    const answer = this.next('askText', question);
    if (answer === undefined) return undefined;
    if (typeof answer !== 'string')
      throw new Error(vscode.l10n.t('"{0}" takes a text, the script gives a list', question));
    // a string is an error, as is a message of severity Error; Info and Warning only inform, as in the window
    const verdict = await options.validateInput?.(answer);
    const refusal =
      typeof verdict === 'string'
        ? verdict
        : verdict?.severity === vscode.InputBoxValidationSeverity.Error
          ? verdict.message
          : undefined;
    if (refusal) throw new Error(vscode.l10n.t('"{0}" refuses "{1}": {2}', question, answer, refusal));
    return answer;
  }

  async askModal<T extends string>(_severity: Severity, message: string, detail: string | undefined, ...items: T[]) {
    const answer = this.next('askModal', detail ? `${message}\n${detail}` : message);
    if (answer === undefined) return undefined;
    const item = items.find((i) => i === answer);
    if (!item)
      throw new Error(
        vscode.l10n.t('"{0}" has no button "{1}" (it has {2})', message, String(answer), items.join(', ')),
      );
    return item;
  }

  async pickOrType<T extends vscode.QuickPickItem & { value: string }>(
    _items: readonly T[],
    options: { title: string; placeHolder: string },
  ): Promise<string | undefined> {
    const answer = this.next('pickOrType', `${options.title}: ${options.placeHolder}`);
    if (answer !== undefined && typeof answer !== 'string')
      throw new Error(vscode.l10n.t('"{0}" takes one value', options.title));
    return answer;
  }
}
