import { describe, expect, it } from 'vitest';
import { decimalProblem, inert, parseDecimal } from '../../src/core/text';
import { hostileNames } from '../support/hostileNames';

/**
 * What VS Code does with text, as its sources do it:
 * - a link in a notification (also a progress notification's title and message) and in an input box's prompt and
 *   validation message: LINK_REGEX of src/vs/base/common/linkedText.ts (parseLinkedText); the notification turns
 *   CR/LF into spaces first (src/vs/workbench/common/notifications.ts, parseNotificationMessage)
 * - an icon in a quick pick's label, description and detail, an input box's prompt and message, the status bar:
 *   src/vs/base/browser/ui/iconLabel/iconLabels.ts (renderLabelWithIcons), names as in themables.ts
 */
const LINK_REGEX = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/gi;
const ICON_REGEX = /(\\)?\$\(([A-Za-z0-9-]+(?:~[A-Za-z]+)?)\)/g;
const links = (text: string) => [...text.replace(/(\r\n|\n|\r)/gm, ' ').matchAll(LINK_REGEX)].map((m) => m[2]);
const icons = (text: string) => [...text.matchAll(ICON_REGEX)].filter((m) => !m[1]).map((m) => m[2]);
/** what a person sees: the word joiners inert adds are invisible */
const seen = (text: string) => text.replace(/\u2060/g, '');

describe('outside text made inert wherever VS Code interprets it', () => {
  const link = '[click](command:workbench.action.terminal.new)';

  it('a name written as a command link is no link, and reads the same', () => {
    expect(links(link)).toEqual(['command:workbench.action.terminal.new']); // the check sees a live one
    expect(links(inert(link))).toEqual([]);
    expect(links(inert(`vm ${link} [x](https://example.com) [y](file:///etc/passwd 'title')`))).toEqual([]);
    expect(seen(inert(link))).toBe(link);
    // in any message around it
    expect(links(`Migration of ${inert(link)} to hostB stopped.`)).toEqual([]);
  });

  it('a name ending in "]" or "$" cannot make a link or an icon with the text after it', () => {
    expect(links(`${inert('[click]')}(command:workbench.action.terminal.new)`)).toEqual([]);
    expect(links(`${inert('[a')}${inert('b]')}(command:x)`)).toEqual([]);
    expect(icons(`${inert('vm $')}(alert)`)).toEqual([]);
    expect(icons(`${inert('vm $(al')}ert)`)).toEqual([]);
  });

  it('icon syntax in a name shows as written, no icon', () => {
    expect(icons('$(alert) x')).toEqual(['alert']);
    expect(icons(inert('$(alert) x'))).toEqual([]);
    expect(icons(inert('vm $(error) $(sync~spin) $(x-y)'))).toEqual([]);
    expect(seen(inert('$(alert) x'))).toBe('$(alert) x');
    // VS Code's own escape hides the backslash; a name holding it is shown with it
    expect(icons(inert('already \\$(error)'))).toEqual([]);
    expect(seen(inert('already \\$(error)'))).toBe('already \\$(error)');
    // not icon syntax (a space inside): left as it is, so typing the name in a quick pick still finds it
    expect(inert('evil $(touch ferry-pwned) `x` $HOME')).toBe('evil $(touch ferry-pwned) `x` $HOME');
  });

  it('line breaks of every kind show as ⏎, so a name cannot fake a line of its own', () => {
    expect(inert('vm\nMigration completed')).toBe('vm⏎Migration completed');
    expect(inert('a\r\nb\rc\u2028d\u2029e\u0085f\u000bg\u000ch')).toBe('a⏎b⏎c⏎d⏎e⏎f⏎g⏎h');
    expect(inert('ls\u2028[x](command:y)\u2029sep')).toBe('ls⏎[x]\u2060(command:y)⏎sep');
  });

  it('control and bidirectional formatting characters show as �, so a name cannot reorder or hide text', () => {
    expect(inert('vm\u202eexe.txt')).toBe('vm\ufffdexe.txt');
    expect(inert('a\u0000b\u001bc\u007fd\u200fe\u2066f')).toBe('a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf');
    expect(inert('tab\tand unicode čaj 日本語 🚢')).toBe('tab\tand unicode čaj 日本語 🚢');
  });

  it('is idempotent: made inert at a boundary again, nothing changes', () => {
    for (const text of [link, `${link} $(alert) x]`, 'vm $', 'a\u2028b\u202e', ...hostileNames().map((h) => h.name)])
      expect(inert(inert(text))).toBe(inert(text));
  });

  it("the lab's hostile names stay themselves to the eye, with no link and no icon", () => {
    for (const { name } of hostileNames()) {
      const shown = inert(name);
      expect(links(shown)).toEqual([]);
      expect(icons(shown)).toEqual([]);
      expect(seen(shown)).toBe(name.replace(/[\r\u2028\u2029]/g, '⏎'));
    }
  });
});

describe('numbers as typed in an input box (bandwidth, downtime, rates)', () => {
  it('takes plain decimals and says what is wrong with anything else', () => {
    expect(parseDecimal(' 40 ')).toBe(40);
    expect(parseDecimal('')).toBeUndefined();
    for (const t of ['0x10', '1e3', '-0', 'Infinity', '1_000'])
      expect(decimalProblem(t), t).toMatch(/is not a plain decimal number/);
    expect(decimalProblem('12.5')).toBeUndefined();
  });
});
