/**
 * `vscode.l10n.t` for the unit tests' `vi.mock('vscode', …)`: what VS Code returns with no bundle loaded (English),
 * formatted as its ext host does (format2): each `{key}` is replaced by the argument of that index or name, a
 * placeholder with no argument (or an undefined one) is kept as it is, and a message without arguments is returned
 * untouched. Takes the three forms of the API: t(message, ...args), t(message, { name: value }) and
 * t({ message, args, comment }).
 *
 * In a factory (vi.mock is hoisted above the imports):
 *   vi.mock('vscode', async () => ({ l10n: { t: (await import('../support/l10n')).l10nT }, … }));
 */
type Args = Record<string | number, unknown> | readonly unknown[];

export function l10nT(
  ...params: [message: string, ...args: unknown[]] | [options: { message: string; args?: Args; comment?: unknown }]
): string {
  let message: string;
  let args: Args | null | undefined;
  if (typeof params[0] === 'string') {
    const rest = params.slice(1);
    message = params[0];
    args = typeof rest[0] === 'object' ? (rest[0] as Args | null) : rest;
  } else {
    ({ message, args } = params[0]);
  }
  const values = (args ?? {}) as Record<string, unknown>;
  if (Object.keys(values).length === 0) return message;
  return message.replace(/{([^}]+)}/g, (match: string, key: string) => String(values[key] ?? match));
}
