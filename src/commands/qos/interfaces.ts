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
  if (!nodes.length) throw new Error(`${domain.domain.name} has no network interface this applies to.`);
  if (nodes.length === 1) return nodes;
  const picks = await ctx.ui.pickMany(
    nodes.map((node) => ({
      label: inert(node.iface.mac),
      description: inert(
        [node.iface.model, node.iface.type, node.iface.source, node.iface.device].filter(Boolean).join(' · '),
      ),
      node,
    })),
    { title, placeHolder: `Interfaces of ${domain.domain.name} (the same limit applies to each)` },
  );
  if (!picks?.length) throw new UserCancelled();
  return picks.map((p) => p.node);
}

const UNIT_NOTES: Record<RateUnit, string> = {
  'Mbit/s': '10⁶ bits/s: link speeds, iperf, oVirt',
  'Gbit/s': '10⁹ bits/s',
  'kbit/s': '10³ bits/s',
  'MiB/s': '1,048,576 bytes/s: what Proxmox labels "MB/s"',
  'MB/s': '10⁶ bytes/s',
};

const DIRECTION_LABEL: Record<Direction, string> = {
  inbound: 'Inbound (into the guest)',
  outbound: 'Outbound (out of the guest)',
};

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
      ...DIRECTIONS.map((d) => ({ label: DIRECTION_LABEL[d], directions: [d] })),
      { label: 'Both directions', directions: [...DIRECTIONS] },
    ],
    { title, placeHolder: 'Which traffic to limit' },
  );
  if (!direction) throw new UserCancelled();
  const preferred = ctx.qosRateUnit();
  const units = (Object.keys(RATE_UNITS) as RateUnit[]).sort(
    (a, b) => Number(b === preferred) - Number(a === preferred),
  );
  const unitPick = await ctx.ui.pickOne(
    units.map((u) => ({ label: u, description: UNIT_NOTES[u], unit: u })),
    { title, placeHolder: 'Unit of the rates you will enter (libvirt stores kB/s = 1000 bytes/s)' },
  );
  if (!unitPick) throw new UserCancelled();
  const unit = unitPick.unit;
  const change: QosChange = { unit, burstUnit: 'KiB' };
  const rateNote = (n: number) => {
    const kBps = (n * RATE_UNITS[unit]) / LIBVIRT_RATE_BYTES;
    const stored = Math.round(kBps);
    const rounded = stored === kBps ? '' : `${shown(kBps)} kB/s, rounded: `;
    return `${rounded}stored by libvirt as ${stored} kB/s (1000 bytes/s), enforced by the kernel as ${(stored * 8).toLocaleString('en-US')} kbit/s`;
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
          return `${(e as Error).message} Or leave it empty.`;
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
      `${DIRECTION_LABEL[d]}: average in ${unit} (empty or 0 removes the ${d} limit)`,
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
        `Inbound peak in ${unit} (empty: no peak, the average is the ceiling)`,
        inUnit(now?.peak),
        rateNote,
      );
    input.burst = await ask(
      `${DIRECTION_LABEL[d]}: burst in KiB (empty: the kernel's default)`,
      now?.burst ? (now.burst * LIBVIRT_BURST_BYTES) / BURST_UNITS.KiB : undefined,
      (n) => `stored as ${Math.round(n)} KiB`,
    );
    if (d === 'inbound' && floorAllowed)
      input.floor = await ask(`Inbound floor in ${unit} (empty: none)`, inUnit(now?.floor), rateNote);
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
        label: 'Live and persistent',
        description: 'now, and from the next start on',
        scopes: ['live', 'config'] as Scope[],
      },
      { label: 'Live only', description: 'until the domain stops', scopes: ['live'] as Scope[] },
      { label: 'Persistent only', description: 'from the next start on', scopes: ['config'] as Scope[] },
    ],
    { title, placeHolder: 'When the limit applies' },
  );
  if (!pick) throw new UserCancelled();
  return pick.scopes;
}
