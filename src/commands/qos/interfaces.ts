/** What the QoS commands share: the interfaces they act on (tree selection or pickers) and the entry of a change. */
import * as vscode from 'vscode';
import type { Direction, DirectionInput, DirectionLimit, QosChange, RateUnit, Scope } from '../../core/qos';
import { BURST_UNITS, DIRECTIONS, LIBVIRT_BURST_BYTES, LIBVIRT_RATE_BYTES, RATE_UNITS } from '../../core/qos';
import { inert, parseDecimal } from '../../core/text';
import type { InterfaceNode } from '../../views/nodes';
import type { CommandContext } from '../context';
import { UserCancelled } from '../../vscode/userInput';
import { pickDomain, selectedNodes } from '../pickers';

/** The interfaces a command acts on: the selected rows, or a domain and then its interfaces picked from the palette. */
export async function interfacesFor(
  ctx: CommandContext,
  title: string,
  clicked: unknown,
  selected: unknown,
  filter: (n: InterfaceNode) => boolean = () => true,
): Promise<InterfaceNode[]> {
  const chosen = selectedNodes<InterfaceNode>(clicked, selected, 'interface');
  if (chosen.length) return chosen;
  const domain = await pickDomain(ctx, title, () => true);
  const host = ctx.registry.require(domain.alias);
  const all = await ctx.qos.interfaces(host.connection, domain.domain.uuid, domain.domain.state === 'running');
  const nodes = all
    .map((iface): InterfaceNode => ({ kind: 'interface', alias: domain.alias, domain: domain.domain, iface }))
    .filter(filter);
  if (!nodes.length)
    throw new Error(vscode.l10n.t('{0} has no network interface this applies to.', domain.domain.name));
  if (nodes.length === 1) return nodes;
  const picks = await ctx.ui.pickMany(
    nodes.map((node) => ({
      label: inert(node.iface.mac),
      description: inert(
        [node.iface.model, node.iface.type, node.iface.source, node.iface.device].filter(Boolean).join(' · '),
      ),
      node,
    })),
    {
      title,
      placeHolder: vscode.l10n.t('Interfaces of {0} (the same limit applies to each)', domain.domain.name),
    },
  );
  if (!picks?.length) throw new UserCancelled();
  return picks.map((p) => p.node);
}

// texts are made when a command runs, not when the module loads (vscode.l10n.t)
const unitNote = (unit: RateUnit): string =>
  ({
    'Mbit/s': () => vscode.l10n.t('10⁶ bits/s: link speeds, iperf, oVirt'),
    'Gbit/s': () => vscode.l10n.t('10⁹ bits/s'),
    'kbit/s': () => vscode.l10n.t('10³ bits/s'),
    'MiB/s': () => vscode.l10n.t('1,048,576 bytes/s: what Proxmox labels "MB/s"'),
    'MB/s': () => vscode.l10n.t('10⁶ bytes/s'),
  })[unit]();

const directionLabel = (d: Direction): string =>
  d === 'inbound' ? vscode.l10n.t('Inbound (into the guest)') : vscode.l10n.t('Outbound (out of the guest)');

const shown = (n: number) => String(Number(n.toFixed(3)));

/**
 * Ask direction(s), unit and every field of each direction, prefilled with what the first interface has now (so an
 * edit never drops a peak or burst the user did not touch). Each box shows what libvirt will store as it is typed.
 */
export async function askChange(
  ctx: CommandContext,
  title: string,
  current: { inbound?: DirectionLimit; outbound?: DirectionLimit },
  floorAllowed: boolean,
): Promise<QosChange> {
  const direction = await ctx.ui.pickOne(
    [
      ...DIRECTIONS.map((d) => ({ label: directionLabel(d), directions: [d] })),
      { label: vscode.l10n.t('Both directions'), directions: [...DIRECTIONS] },
    ],
    { title, placeHolder: vscode.l10n.t('Which traffic to limit') },
  );
  if (!direction) throw new UserCancelled();
  const preferred = ctx.qosRateUnit();
  const units = (Object.keys(RATE_UNITS) as RateUnit[]).sort(
    (a, b) => Number(b === preferred) - Number(a === preferred),
  );
  const unitPick = await ctx.ui.pickOne(
    units.map((u) => ({ label: u, description: unitNote(u), unit: u })),
    { title, placeHolder: vscode.l10n.t('Unit of the rates you will enter (libvirt stores kB/s = 1000 bytes/s)') },
  );
  if (!unitPick) throw new UserCancelled();
  const unit = unitPick.unit;
  const change: QosChange = { unit, burstUnit: 'KiB' };
  const rateNote = (n: number) => {
    const kBps = (n * RATE_UNITS[unit]) / LIBVIRT_RATE_BYTES;
    const stored = Math.round(kBps);
    const kbits = (stored * 8).toLocaleString('en-US');
    return stored === kBps
      ? vscode.l10n.t(
          'stored by libvirt as {0} kB/s (1000 bytes/s), enforced by the kernel as {1} kbit/s',
          stored,
          kbits,
        )
      : vscode.l10n.t(
          '{0} kB/s, rounded: stored by libvirt as {1} kB/s (1000 bytes/s), enforced by the kernel as {2} kbit/s',
          shown(kBps),
          stored,
          kbits,
        );
  };
  const ask = async (
    prompt: string,
    value: number | undefined,
    note: (n: number) => string,
  ): Promise<number | undefined> => {
    const text = await ctx.ui.askText({
      // the prompt gives way to the conversion as one types: the title keeps saying which field this is
      title: `${title}: ${prompt.replace(/ \([^()]*\)$/, '')}`,
      prompt,
      value: value ? shown(value) : '',
      validateInput: (t) => {
        try {
          const n = parseDecimal(t);
          return n === undefined ? undefined : { message: note(n), severity: vscode.InputBoxValidationSeverity.Info };
        } catch (e) {
          return vscode.l10n.t('{0} Or leave it empty.', (e as Error).message);
        }
      },
    });
    if (text === undefined) throw new UserCancelled();
    return parseDecimal(text);
  };
  const inUnit = (kBps?: number) => (kBps ? (kBps * LIBVIRT_RATE_BYTES) / RATE_UNITS[unit] : undefined);
  for (const d of direction.directions) {
    const now = current[d];
    const average = await ask(
      d === 'inbound'
        ? vscode.l10n.t('{0}: average in {1} (empty or 0 removes the inbound limit)', directionLabel(d), unit)
        : vscode.l10n.t('{0}: average in {1} (empty or 0 removes the outbound limit)', directionLabel(d), unit),
      inUnit(now?.average),
      rateNote,
    );
    if (!average) {
      change[d] = 'remove';
      continue;
    }
    const input: DirectionInput = { average };
    // outbound is policed at the average: there is no outbound peak to ask for
    if (d === 'inbound')
      input.peak = await ask(
        vscode.l10n.t('Inbound peak in {0} (empty: no peak, the average is the ceiling)', unit),
        inUnit(now?.peak),
        rateNote,
      );
    input.burst = await ask(
      vscode.l10n.t("{0}: burst in KiB (empty: the kernel's default)", directionLabel(d)),
      now?.burst ? (now.burst * LIBVIRT_BURST_BYTES) / BURST_UNITS.KiB : undefined,
      (n) => vscode.l10n.t('stored as {0} KiB', Math.round(n)),
    );
    if (d === 'inbound' && floorAllowed)
      input.floor = await ask(vscode.l10n.t('Inbound floor in {0} (empty: none)', unit), inUnit(now?.floor), rateNote);
    change[d] = input;
  }
  return change;
}

/** Live, persistent or both; a domain that is not running can only change its definition. */
export async function askScopes(ctx: CommandContext, title: string, nodes: readonly InterfaceNode[]): Promise<Scope[]> {
  if (nodes.some((n) => n.domain.state !== 'running')) return ['config'];
  const pick = await ctx.ui.pickOne(
    [
      {
        label: vscode.l10n.t('Live and persistent'),
        description: vscode.l10n.t('now, and from the next start on'),
        scopes: ['live', 'config'] as Scope[],
      },
      {
        label: vscode.l10n.t('Live only'),
        description: vscode.l10n.t('until the domain stops'),
        scopes: ['live'] as Scope[],
      },
      {
        label: vscode.l10n.t('Persistent only'),
        description: vscode.l10n.t('from the next start on'),
        scopes: ['config'] as Scope[],
      },
    ],
    { title, placeHolder: vscode.l10n.t('When the limit applies') },
  );
  if (!pick) throw new UserCancelled();
  return pick.scopes;
}
