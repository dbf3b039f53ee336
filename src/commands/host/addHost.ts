import type * as vscode from 'vscode';
import { parseHostSpec } from '../../core/hostSpec';
import { inert } from '../../core/text';
import { listConfigAliases } from '../../transport/sshConfig';
import { createPick } from '../../vscode/ask';
import { config } from '../../vscode/config';
import type { FerryContext } from '../../vscode/context';
import { UserCancelled } from '../../vscode/runCommand';
import { connectWithProgress } from './connectHost';

/** Pick an ~/.ssh/config alias or type user@host[:port]; the host is saved in ferry.hosts and connected (asking about its key). */
export async function addHost(ctx: FerryContext, given?: string): Promise<string> {
  const alias = (given ?? (await askForHost())).trim();
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

async function askForHost(): Promise<string> {
  const configured = new Set(config.hosts());
  const aliases = (await listConfigAliases(config.sshConfigPath()).catch(() => [])).filter((a) => !configured.has(a));
  // an alias shows inert (a quick pick renders $(icons)); the item keeps the alias itself
  type Item = vscode.QuickPickItem & { alias: string };
  const fromConfig: Item[] = aliases.map((a) => ({ label: inert(a), description: 'ssh config', alias: a }));
  const quickPick = createPick<Item>();
  quickPick.title = 'Ferry: Add Host';
  quickPick.placeholder = 'An ssh config alias, or user@host[:port]';
  quickPick.items = fromConfig;
  quickPick.onDidChangeValue((value) => {
    const typed = value.trim();
    const custom =
      typed && !aliases.includes(typed)
        ? [{ label: inert(typed), description: 'connect to this address', alias: typed }]
        : [];
    quickPick.items = [...custom, ...fromConfig];
  });
  try {
    return await new Promise<string>((resolve, reject) => {
      quickPick.onDidAccept(() => {
        const picked = quickPick.selectedItems[0]?.alias ?? quickPick.value;
        if (picked.trim()) resolve(picked);
      });
      quickPick.onDidHide(() => reject(new UserCancelled()));
      quickPick.show();
    });
  } finally {
    quickPick.dispose();
  }
}
