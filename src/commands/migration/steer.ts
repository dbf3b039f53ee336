/** Actions on a running migration, from the tree (a migrating domain), the palette (a picker) or the progress UI. */
import * as vscode from 'vscode';
import type { MigrationRecord } from '../../core/migration/record';
import type { CommandContext } from '../context';
import { UserCancelled } from '../../vscode/userInput';
import { decimalProblem, inert, parseDecimal } from '../../core/text';

/** a domain tree node, or anything naming a domain the same way (the monitor panel) */
type DomainRef = { domain: { uuid: string; name: string } };

async function pickMigration(ctx: CommandContext, title: string, node?: DomainRef): Promise<MigrationRecord> {
  if (node) {
    const r = ctx.migrations.findByDomain(node.domain.uuid);
    if (!r) throw new Error(vscode.l10n.t('{0} has no migration running that Ferry follows.', node.domain.name));
    return r;
  }
  const running = ctx.migrations.running;
  if (!running.length) throw new Error(vscode.l10n.t('No migration is running.'));
  if (running.length === 1) return running[0];
  const pick = await ctx.ui.pickOne(
    running.map((r) => ({
      label: inert(r.domainName),
      description: inert(`${r.source} → ${r.target} · ${r.percent}%`),
      r,
    })),
    { title },
  );
  if (!pick) throw new UserCancelled();
  return pick.r;
}

async function askNumber(
  ctx: CommandContext,
  prompt: string,
  validate: (n: number) => string | undefined,
): Promise<number> {
  const text = await ctx.ui.askText({
    prompt,
    validateInput: (t) => (t.trim() ? (decimalProblem(t) ?? validate(parseDecimal(t)!)) : vscode.l10n.t('a number')),
  });
  if (text === undefined) throw new UserCancelled();
  return parseDecimal(text)!;
}

export async function setBandwidth(ctx: CommandContext, node?: DomainRef) {
  const r = await pickMigration(ctx, vscode.l10n.t('Ferry: Set Migration Bandwidth'), node);
  const value = await askNumber(ctx, vscode.l10n.t('Bandwidth for {0} in MiB/s', r.domainName), (n) =>
    Number.isInteger(n) && n > 0
      ? undefined
      : vscode.l10n.t('bandwidth must be a whole number of MiB/s above 0: 0 would stall the migration'),
  );
  await ctx.migrations.setBandwidth(r.id, value);
}

export async function setMaxDowntime(ctx: CommandContext, node?: DomainRef) {
  const r = await pickMigration(ctx, vscode.l10n.t('Ferry: Set Max Downtime'), node);
  const value = await askNumber(ctx, vscode.l10n.t('Max downtime for {0} in ms', r.domainName), (n) =>
    Number.isInteger(n) && n >= 1 ? undefined : vscode.l10n.t('a whole number of ms, at least 1'),
  );
  await ctx.migrations.setMaxDowntime(r.id, value);
}

export async function switchToPostcopy(ctx: CommandContext, node?: DomainRef) {
  const r = await pickMigration(ctx, vscode.l10n.t('Ferry: Switch Migration to Postcopy'), node);
  await ctx.migrations.switchToPostcopy(r.id);
}

export async function abortMigration(ctx: CommandContext, node?: DomainRef) {
  const r = await pickMigration(ctx, vscode.l10n.t('Ferry: Abort Migration'), node);
  await ctx.migrations.abort(r.id);
}
