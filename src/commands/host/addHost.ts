import * as vscode from 'vscode';
import { parseHostSpec } from '../../core/hostSpec';
import { inert } from '../../core/text';
import { listConfigAliases } from '../../transport/sshConfig';
import { config } from '../../vscode/config';
import type { CommandContext } from '../context';
import { UserCancelled } from '../../vscode/userInput';
import { connectWithProgress } from './connectHost';

/** Pick an ~/.ssh/config alias or type user@host[:port]; the host is saved in ferry.hosts and connected (asking about its key). */
export async function addHost(ctx: CommandContext, given?: string): Promise<string> {
  const alias = (given ?? (await askForHost(ctx))).trim();
  parseHostSpec(alias); // throws a readable error for input that names no host
  const hosts = config.hosts();
  if (!hosts.includes(alias)) {
    await config.setHosts([...hosts, alias]);
    ctx.registry.setHosts([...hosts, alias]);
  }
  const inventory = ctx.registry.get(alias);
  if (inventory) await connectWithProgress(inventory);
  return alias;
}

async function askForHost(ctx: CommandContext): Promise<string> {
  const configured = new Set(config.hosts());
  const aliases = (await listConfigAliases(config.sshConfigPath()).catch(() => [])).filter((a) => !configured.has(a));
  // an alias shows inert (a quick pick renders $(icons)); the item keeps the alias itself
  const fromConfig = aliases.map((a) => ({ label: inert(a), description: vscode.l10n.t('ssh config'), value: a }));
  const picked = await ctx.ui.pickOrType(fromConfig, {
    title: vscode.l10n.t('Ferry: Add Host'),
    placeHolder: vscode.l10n.t('An ssh config alias, or user@host[:port]'),
    typed: (value) => {
      const typed = value.trim();
      return typed && !aliases.includes(typed)
        ? { label: inert(typed), description: vscode.l10n.t('connect to this address'), value: typed }
        : undefined;
    },
  });
  if (picked === undefined) throw new UserCancelled();
  return picked;
}
