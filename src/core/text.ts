/** Text from outside (domain names, host aliases) shown where VS Code renders `$(icon)` syntax. */

const ICON = /(\\)?\$\([a-z0-9-]+?(?:~[a-z0-9-]*?)?\)/gi;

/** `$(name)` stays text (VS Code's own escape: a backslash before it), so a VM called `$(error)` shows no icon. */
export function escapeIcons(text: string): string {
  return text.replace(ICON, (match: string, escaped?: string) => (escaped ? match : `\\${match}`));
}
