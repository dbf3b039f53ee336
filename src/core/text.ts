/**
 * Text from outside (domain and interface names, host aliases, names in imported run files, what a host prints) where
 * VS Code interprets text. What it interprets, read in VS Code's sources:
 * - `[label](command:…)` (also https: and file:) is a link that runs the command with its arguments: in a
 *   notification's message, a progress notification's title and message (parseNotificationMessage →
 *   parseLinkedText, which has no escape: a backslash does not stop it), and in an input box's prompt and validation
 *   message (renderQuickInputDescription). Notifications support links only, no other markdown.
 * - `$(name)` and `$(name~modifier)` are icons: in a quick pick item's label, description and detail, an input box's
 *   prompt and message, the status bar (window progress). Tree labels and descriptions show text as it is.
 * - MarkdownString (tooltips) is markdown: outside text goes in with appendText, never trusted.
 * Modal dialogs and tree items show plain text.
 */

/** U+2060 WORD JOINER: invisible, no line break, joins nothing; between `]` and `(`, or `$` and `(`, it ends the syntax. */
const JOINER = '\u2060';
const LINE_BREAK = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/g;
/** C0/C1 controls but tab, and the bidirectional formatting characters, which reorder or hide the text around them */
const HIDDEN = /[\0-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** `](` of a link, and a `]` at the end, which the text after it could continue into a link */
const LINK_CLOSE = /\](?=\(|$)/g;
/** `$(icon)` as VS Code finds it (and filters quick picks by it), or its start at the end of the text */
const ICON_START = /\$(?=\([A-Za-z0-9~-]*(?:\)|$)|$)/g;

/**
 * Outside text made inert for wherever VS Code shows it: no link, no icon, no line of its own, no reordering. It reads
 * the same: a word joiner goes between `]` and `(` and between `$` and `(` where they would make a link or an icon,
 * every line break shows as ⏎ (as VS Code shows one in a tree label), control and bidi characters as �.
 * Idempotent, so a boundary may apply it again to a message already holding inert names.
 */
export function inert(text: string): string {
  return text
    .replace(LINE_BREAK, '⏎')
    .replace(HIDDEN, '\ufffd')
    .replace(LINK_CLOSE, `]${JOINER}`)
    .replace(ICON_START, `$${JOINER}`);
}

const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * A number as a person types it: plain decimal digits with at most one decimal point (12, 1.5, .5), blanks around
 * it ignored; undefined when nothing is typed. Number() would also take 0x10, 0b11, 0o7, 1e3, -0 and Infinity, none
 * of which is what someone typing a rate, a bandwidth or a downtime means: they are refused, saying what is taken.
 */
export function parseDecimal(text: string): number | undefined {
  const typed = text.trim();
  if (!typed) return undefined;
  if (!DECIMAL.test(typed))
    throw new Error(
      `${JSON.stringify(text)} is not a plain decimal number: enter digits with at most one decimal point, such as 12 or 1.5.`,
    );
  const value = Number(typed);
  if (!Number.isFinite(value))
    throw new Error(`${JSON.stringify(typed.length > 20 ? `${typed.slice(0, 20)}…` : typed)} is too large.`);
  return value;
}

/** parseDecimal's complaint about a typed value, or undefined when it reads; for an input box's validation */
export function decimalProblem(text: string): string | undefined {
  try {
    parseDecimal(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
