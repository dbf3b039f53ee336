/** Migrate Domain…: target, profile or custom options, preflight checklist, then a progress notification with cancel. */
import * as vscode from 'vscode';
import { addressListProblem } from '../../core/conntrack';
import type { Domain } from '../../core/domain';
import { decimalProblem, inert, parseDecimal } from '../../core/text';
import type { MigrationOptions, ProfileId } from '../../core/migration/job';
import { describeOptions, formatBytes, formatRate, optionProblems, PROFILES } from '../../core/migration/job';
import type { MigrationRecord } from '../../core/migration/record';
import { livePlanDeps, planMigration, PlanStopped } from '../../services/migration';
import { notify, withProgress } from '../../vscode/notify';
import type { FerryContext } from '../../vscode/context';
import type { CommandContext } from '../context';
import { UserCancelled } from '../../vscode/userInput';
import type { DomainNode } from '../../views/nodes';
import { summarize } from '../migration/summary';
import { addressPrompt, pickDomain, selectedNodes } from '../pickers';

const migratable = (d: Domain) => d.state === 'running' || d.state === 'paused';

export async function migrateDomains(
  ctx: CommandContext,
  clicked?: DomainNode,
  selected?: DomainNode[],
): Promise<MigrationRecord[]> {
  let nodes = selectedNodes<DomainNode>(clicked, selected, 'domain').filter((n) => migratable(n.domain));
  if (!nodes.length) nodes = [await pickDomain(ctx, vscode.l10n.t('Ferry: Migrate Domain'), migratable)];
  const results: MigrationRecord[] = [];
  for (const node of nodes) results.push(await migrateOne(ctx, node)); // one after another
  return results;
}

async function pickTarget(ctx: CommandContext, source: string): Promise<string> {
  const items = ctx.registry.hosts
    .filter((h) => h.alias !== source)
    .map((h) => {
      const state = h.connection.state;
      const reason =
        state.kind === 'connected'
          ? h.libvirtError
            ? vscode.l10n.t('libvirt unavailable: {0}', h.libvirtError)
            : undefined
          : state.kind === 'failed'
            ? state.error.message
            : state.kind;
      return {
        label: `${reason ? '$(circle-slash)' : '$(server)'} ${inert(h.alias)}`,
        description: reason
          ? vscode.l10n.t('cannot take it: {0}', inert(reason))
          : vscode.l10n.t('{0} running', h.domains?.filter((d) => d.state === 'running').length ?? 0),
        alias: h.alias,
        reason,
      };
    });
  if (!items.length) throw new Error(vscode.l10n.t('Add a second host to migrate to.'));
  const pick = await ctx.ui.pickOne(items, {
    title: vscode.l10n.t('Ferry: Migrate from {0} to…', source),
    placeHolder: vscode.l10n.t('Target host'),
  });
  if (!pick) throw new UserCancelled();
  if (pick.reason) throw new Error(vscode.l10n.t('{0} cannot take the domain: {1}', pick.alias, pick.reason));
  return pick.alias;
}

async function pickOptions(
  ctx: CommandContext,
  source: string,
  target: string,
): Promise<{ profile: string; options: MigrationOptions }> {
  const last = ctx.migrationStore.lastOptions(source, target);
  type Item = vscode.QuickPickItem & { profile: string; options?: MigrationOptions };
  const items: Item[] = [
    ...(last
      ? [
          {
            label: `$(history) ${vscode.l10n.t('Last used: {0}', last.profile)}`,
            detail: describeOptions(last.options),
            profile: last.profile,
            options: last.options,
          },
        ]
      : []),
    ...(Object.entries(PROFILES) as [ProfileId, (typeof PROFILES)[ProfileId]][]).map(([id, p]) => ({
      label: p.label,
      detail: p.detail,
      profile: id,
      options: p.options,
    })),
    {
      label: `$(settings) ${vscode.l10n.t('Custom…')}`,
      detail: vscode.l10n.t('choose every option'),
      profile: 'custom',
    },
  ];
  const pick = await ctx.ui.pickOne(items, {
    title: vscode.l10n.t('Ferry: Migrate {0} → {1}', source, target),
    placeHolder: vscode.l10n.t('Profile'),
  });
  if (!pick) throw new UserCancelled();
  return {
    profile: pick.profile,
    options: pick.options ?? (await customOptions(ctx, last?.options ?? PROFILES.safe.options)),
  };
}

async function customOptions(ctx: CommandContext, base: MigrationOptions): Promise<MigrationOptions> {
  type Flag = {
    label: string;
    on: (o: MigrationOptions) => boolean;
    set: (o: MigrationOptions, on: boolean) => void;
  };
  /** an option that is on or off */
  const onOff = (key: 'p2p' | 'persistent' | 'undefineSource' | 'autoConverge' | 'zeroCopy' | 'tls', label: string) =>
    ({ label, on: (o) => o[key], set: (o, v) => (o[key] = v) }) satisfies Flag;
  const flags: Flag[] = [
    onOff('p2p', vscode.l10n.t('Peer-to-peer (survives VS Code closing)')),
    onOff('persistent', vscode.l10n.t('Persistent on target')),
    onOff('undefineSource', vscode.l10n.t('Undefine on source')),
    onOff('autoConverge', vscode.l10n.t('Auto-converge (throttle the guest CPU if it does not converge)')),
    onOff('zeroCopy', vscode.l10n.t('Zero-copy send (needs parallel connections)')),
    onOff('tls', vscode.l10n.t('TLS')),
    {
      label: vscode.l10n.t('Postcopy available (switch by hand)'),
      on: (o) => o.postcopy === 'manual',
      set: (o, v) => (o.postcopy = v ? 'manual' : o.postcopy === 'manual' ? 'off' : o.postcopy),
    },
    {
      label: vscode.l10n.t('Postcopy after the first precopy pass'),
      on: (o) => o.postcopy === 'afterPrecopy',
      set: (o, v) => (o.postcopy = v ? 'afterPrecopy' : o.postcopy === 'afterPrecopy' ? 'off' : o.postcopy),
    },
    {
      label: vscode.l10n.t('Compression (xbzrle)'),
      on: (o) => o.compression !== 'none',
      set: (o, v) => (o.compression = v ? 'xbzrle' : 'none'),
    },
    {
      label: vscode.l10n.t('Copy storage (full)'),
      on: (o) => o.copyStorage !== 'none',
      set: (o, v) => (o.copyStorage = v ? 'all' : 'none'),
    },
    {
      label: vscode.l10n.t('Keep TCP connections (sync conntrack, resume after the final import)'),
      on: (o) => !!o.keepTcpConnections,
      set: (o, v) => (o.keepTcpConnections = v),
    },
  ];
  const picked = await ctx.ui.pickMany(
    flags.map((f) => ({ label: f.label, picked: f.on(base), flag: f })),
    { title: vscode.l10n.t('Ferry: Migration options') },
  );
  if (!picked) throw new UserCancelled();
  const o: MigrationOptions = { ...base };
  for (const f of flags)
    f.set(
      o,
      picked.some((p) => p.flag === f),
    );
  const number = async (prompt: string, value: number | undefined, validate: (n: number) => string | undefined) => {
    const text = await ctx.ui.askText({
      prompt,
      value: value === undefined ? '' : String(value),
      validateInput: (t) => (t.trim() === '' ? undefined : (decimalProblem(t) ?? validate(parseDecimal(t)!))),
    });
    if (text === undefined) throw new UserCancelled();
    return parseDecimal(text);
  };
  o.parallelConnections =
    (await number(
      vscode.l10n.t('Parallel connections (empty or 1 = a single stream)'),
      base.parallelConnections || undefined,
      (n) => (Number.isInteger(n) && n >= 0 && n <= 255 ? undefined : '0-255'),
    )) ?? 0;
  o.bandwidthMiBps = await number(
    vscode.l10n.t('Bandwidth limit in MiB/s (empty = no cap)'),
    base.bandwidthMiBps,
    (n) =>
      Number.isInteger(n) && n > 0
        ? undefined
        : vscode.l10n.t('a whole number of MiB/s above 0; 0 would stop the migration'),
  );
  o.maxDowntimeMs = await number(
    vscode.l10n.t('Max downtime in ms (empty = hypervisor default, 300 ms in QEMU)'),
    base.maxDowntimeMs,
    (n) => (Number.isInteger(n) && n >= 1 ? undefined : vscode.l10n.t('a whole number of ms, at least 1')),
  );
  const problems = optionProblems(o);
  if (problems.length) throw new Error(vscode.l10n.t('These options cannot work together: {0}.', problems.join('; ')));
  return o;
}

async function migrateOne(ctx: CommandContext, node: DomainNode): Promise<MigrationRecord> {
  const source = node.alias;
  const target = await pickTarget(ctx, source);
  const chosen = await pickOptions(ctx, source, target);
  const name = node.domain.name;
  ctx.registry.require(target);
  const deps = livePlanDeps(ctx.registry, ctx.migrations, ctx.libvirtUri(), ctx.conntrackBudgetMs(), ctx.log);
  let started;
  try {
    started = await planMigration(
      deps,
      { source, target, domain: node.domain, ...chosen },
      {
        duringPreflight: (work) =>
          withProgress(
            {
              location: vscode.ProgressLocation.Notification,
              title: vscode.l10n.t('Ferry: preflight for {0} → {1}…', name, target),
            },
            work,
          ),
        preflightFailed: (failed, checklist) =>
          void ctx.ui.askModal(
            'error',
            vscode.l10n.t('Migration of {0} to {1} stopped: {2}.', name, target, failed.map((c) => c.title).join(', ')),
            checklist,
          ),
        acceptWarnings: async (_, checklist) => {
          const go = vscode.l10n.t('Migrate Anyway');
          const question = vscode.l10n.t('Preflight for {0} → {1} has warnings.', name, target);
          return (await ctx.ui.askModal('warning', question, checklist, go)) === go;
        },
        addresses: () => askAddresses(ctx, node),
        rememberOptions: (profile, options) => ctx.migrationStore.rememberOptions(source, target, profile, options),
      },
    );
  } catch (e) {
    if (e instanceof PlanStopped) throw new UserCancelled(); // the person was told, or declined
    throw e;
  }
  const { record, done } = started;
  ctx.panels.open(record, { preserveFocus: true });
  void showProgress(ctx, record, done);
  const result = await done;
  const lines = summarize(result);
  for (const l of lines) ctx.log.info(`migration: ${l}`);
  void notify(
    result.phase === 'completed' ? 'info' : 'error',
    lines.slice(0, 2).join(' — '),
    vscode.l10n.t('Show Log'),
  ).then((p) => p && ctx.showLog());
  return result;
}

async function askAddresses(ctx: CommandContext, node: DomainNode): Promise<string[]> {
  const host = ctx.registry.get(node.alias);
  const known = (await host?.addressesOf(node.domain.uuid)) ?? { leased: node.domain.ips, heard: node.domain.heardIps };
  const { value, note } = addressPrompt(node.alias, known);
  const typed = await ctx.ui.askText({
    title: vscode.l10n.t('Ferry: keep TCP connections of {0}', node.domain.name),
    prompt: vscode.l10n.t(
      "The VM's IP addresses (space or comma separated): their conntrack entries move with it. {0}",
      note,
    ),
    value,
    validateInput: (t) => addressListProblem(t, host?.domainsOtherThan(node.domain.uuid)),
  });
  if (typed === undefined) throw new UserCancelled();
  return typed.split(/[\s,]+/).filter(Boolean);
}

export function progressText(r: MigrationRecord): string {
  const s = r.last;
  if (r.phase === 'unknown') return vscode.l10n.t('lost sight of {0}, re-attaching…', r.source);
  if (!s) return vscode.l10n.t('starting…');
  const sent =
    s.dataTotal !== undefined && s.dataRemaining !== undefined
      ? vscode.l10n.t(
          '{0} sent, {1} left',
          formatBytes(s.dataTotal - Math.min(s.dataRemaining, s.dataTotal)),
          formatBytes(s.dataRemaining),
        )
      : '';
  // a reading without a rate yet (a leg just begun) leaves it out rather than show "?"
  const parts = [
    `${r.percent}%`,
    sent,
    s.memoryBps !== undefined ? formatRate(s.memoryBps) : '',
    s.iteration !== undefined ? vscode.l10n.t('iteration {0}', s.iteration) : '',
  ];
  return `${parts.filter(Boolean).join(' · ')}${r.phase === 'postcopy' ? ` · ${vscode.l10n.t('postcopy')}` : ''}`;
}

/** A notification per running migration; its cancel button aborts the job on the source. */
export function showProgress(
  ctx: Pick<FerryContext, 'migrations' | 'log'>,
  record: MigrationRecord,
  done: Promise<MigrationRecord>,
): Thenable<void> {
  return withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: vscode.l10n.t('Migrating {0} {1} → {2}', record.domainName, record.source, record.target),
      cancellable: true,
    },
    async (progress, token) => {
      let shown = 0;
      const sub = ctx.migrations.onDidChange((r) => {
        if (r.id !== record.id) return;
        progress.report({ message: progressText(r), increment: r.percent - shown });
        shown = r.percent;
      });
      const cancel = token.onCancellationRequested(
        () => void ctx.migrations.abort(record.id).catch((e: Error) => ctx.log.error(`abort: ${e.message}`)),
      );
      try {
        await done;
      } finally {
        sub.dispose();
        cancel.dispose();
      }
    },
  );
}
