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
  return text.replace(LINE_BREAK, '⏎').replace(HIDDEN, '\ufffd').replace(LINK_CLOSE, `]${JOINER}`).replace(ICON_START, `$${JOINER}`);
}

/** @deprecated the name it had when it escaped icons only: use inert */
export const escapeIcons = inert;
