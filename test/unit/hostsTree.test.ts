/**
 * The Hypervisors tree's redraw scheduling under fake timers (performance.now() included): nothing is redrawn before
 * VS Code asked for the hosts; the first change after a quiet spell is drawn within 50 ms; a burst is one redraw; in a
 * storm redraws come at most every 80 ms; only the hosts that changed are redrawn, all of them when the list did.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Domain } from '../../src/core/domain';
import { RunningIndex } from '../../src/core/domain';
import { Emitter } from '../../src/core/emitter';
import type { HostRegistry } from '../../src/services/hostRegistry';
import type { MigrationRunner } from '../../src/services/migration';
import type { InterfaceSource, QemuSource } from '../../src/views/hostsTree';
import { HostsTreeProvider } from '../../src/views/hostsTree';
import type { DomainNode, TreeNode } from '../../src/views/nodes';

// the little of VS Code the tree's scheduling touches (vi.mock is hoisted above the imports)
vi.mock('vscode', async () => {
  class EventEmitter<T> {
    private listeners: ((e: T) => void)[] = [];
    readonly event = (listener: (e: T) => void) => {
      this.listeners.push(listener);
      return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
    };
    fire(e: T) {
      for (const l of [...this.listeners]) l(e);
    }
    dispose() {
      this.listeners = [];
    }
  }
  class TreeItem {
    constructor(
      readonly label: string,
      readonly collapsibleState?: number,
    ) {}
  }
  return {
    l10n: { t: (await import('../support/l10n')).l10nT },
    EventEmitter,
    TreeItem,
    TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
    ThemeIcon: class {},
    ThemeColor: class {},
    MarkdownString: class {},
  };
});

const registryChanged = new Emitter<string | undefined>();
const migrationChanged = new Emitter<{ source: string; target: string }>();
const qemuChanged = new Emitter<string>();
let aliases: string[];
let tree: HostsTreeProvider;
/** every redraw VS Code was asked for: when (fake ms since the test began) and what (a host's alias, or everything) */
let redraws: { at: number; what: string }[];
let t0: number;

beforeEach(() => {
  vi.useFakeTimers();
  t0 = performance.now();
  aliases = ['hostA', 'hostB', 'hostC'];
  const registry = {
    onDidChange: registryChanged.event,
    get: (alias: string) => (aliases.includes(alias) ? { alias } : undefined),
    get hosts() {
      return aliases.map((alias) => ({ alias }));
    },
  } as unknown as HostRegistry;
  const migrations = { onDidChange: migrationChanged.event, byDomain: () => new Map() } as unknown as MigrationRunner;
  const qemu: QemuSource = { describe: () => undefined, staleCount: () => 0, onDidChange: qemuChanged.event };
  const interfaces: InterfaceSource = {
    qos: { interfaces: async () => [] },
    rateUnit: () => 'Mbit/s' as ReturnType<InterfaceSource['rateUnit']>,
  };
  tree = new HostsTreeProvider(registry, migrations, interfaces, qemu);
  redraws = [];
  tree.onDidChangeTreeData((node: TreeNode | undefined) =>
    redraws.push({ at: Math.round(performance.now() - t0), what: node ? node.alias : '*' }),
  );
});
afterEach(() => {
  tree.dispose();
  vi.useRealTimers();
});

/** the moments redraws happened (several hosts redrawn together count once) */
const flushes = () => [...new Set(redraws.map((r) => r.at))];

describe('the hosts tree redraws', () => {
  it('nothing before VS Code asked for the hosts', async () => {
    registryChanged.fire('hostA');
    registryChanged.fire(undefined);
    migrationChanged.fire({ source: 'hostA', target: 'hostB' });
    tree.refreshAll();
    await vi.advanceTimersByTimeAsync(1000);
    expect(redraws).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    expect(tree.getChildren()).toEqual([
      { kind: 'host', alias: 'hostA' },
      { kind: 'host', alias: 'hostB' },
      { kind: 'host', alias: 'hostC' },
    ]);
    registryChanged.fire('hostA');
    await vi.advanceTimersByTimeAsync(50);
    expect(redraws).toEqual([{ at: 1050, what: 'hostA' }]);
  });

  it('the first change after a quiet spell within 50 ms, a burst as one redraw of the hosts it touched', async () => {
    const [hostA] = tree.getChildren() as TreeNode[];
    await vi.advanceTimersByTimeAsync(5000);
    registryChanged.fire('hostA');
    await vi.advanceTimersByTimeAsync(20);
    migrationChanged.fire({ source: 'hostA', target: 'hostB' });
    qemuChanged.fire('hostA');
    await vi.advanceTimersByTimeAsync(29);
    expect(redraws).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(redraws).toEqual([
      { at: 5050, what: 'hostA' },
      { at: 5050, what: 'hostB' },
    ]);
    // the host's node is the one VS Code was given (it redraws an element by identity)
    let node: TreeNode | undefined;
    tree.onDidChangeTreeData((n: TreeNode | undefined) => (node = n));
    registryChanged.fire('hostA');
    await vi.advanceTimersByTimeAsync(1000);
    expect(node).toBe(hostA);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('in a storm of changes, at most one redraw per 80 ms, and none left pending once it stops', async () => {
    tree.getChildren();
    for (let ms = 0; ms < 1000; ms += 10) {
      registryChanged.fire(ms % 20 ? 'hostA' : 'hostC');
      await vi.advanceTimersByTimeAsync(10);
    }
    await vi.advanceTimersByTimeAsync(1000);
    const at = flushes();
    expect(at[0]).toBe(50);
    for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(80);
    expect(at.length).toBeLessThanOrEqual(Math.ceil(1000 / 80) + 1);
    // every change was drawn: the last redraw came after the last change
    expect(at.at(-1)).toBeGreaterThanOrEqual(1000);
    // each redraw names each host at most once
    for (const moment of at) {
      const what = redraws.filter((r) => r.at === moment).map((r) => r.what);
      expect(new Set(what).size).toBe(what.length);
    }
    // quiet again: the next change is drawn within 50 ms, not held back
    await vi.advanceTimersByTimeAsync(500);
    const before = redraws.length;
    const firedAt = Math.round(performance.now() - t0);
    registryChanged.fire('hostB');
    await vi.advanceTimersByTimeAsync(50);
    expect(redraws.slice(before)).toEqual([{ at: firedAt + 50, what: 'hostB' }]);
  });

  it('a change soon after a redraw waits for the 80 ms since it, not 50', async () => {
    tree.getChildren();
    registryChanged.fire('hostA');
    await vi.advanceTimersByTimeAsync(50); // redrawn at 50
    await vi.advanceTimersByTimeAsync(10);
    registryChanged.fire('hostB'); // at 60: the next redraw at 130
    await vi.advanceTimersByTimeAsync(69);
    expect(redraws.map((r) => r.at)).toEqual([50]);
    await vi.advanceTimersByTimeAsync(1);
    expect(redraws).toEqual([
      { at: 50, what: 'hostA' },
      { at: 130, what: 'hostB' },
    ]);
  });

  it('the host list changing redraws everything once; a host removed meanwhile is not redrawn on its own', async () => {
    tree.getChildren();
    registryChanged.fire('hostA');
    registryChanged.fire(undefined);
    registryChanged.fire('hostB');
    await vi.advanceTimersByTimeAsync(50);
    expect(redraws).toEqual([{ at: 50, what: '*' }]);
    await vi.advanceTimersByTimeAsync(1000);
    registryChanged.fire('hostC');
    registryChanged.fire('hostA');
    aliases = ['hostA'];
    await vi.advanceTimersByTimeAsync(50);
    expect(redraws.slice(1)).toEqual([{ at: 1100, what: 'hostA' }]);
  });

  it('a redraw pending when the tree is disposed never comes', async () => {
    tree.getChildren();
    registryChanged.fire('hostA');
    tree.dispose();
    await vi.advanceTimersByTimeAsync(1000);
    expect(redraws).toEqual([]);
  });
});

describe('a definition left behind by a migration', () => {
  const uuid = '11111111-2222-4333-8444-555555555555';
  const vm = (state: Domain['state']): Domain => ({
    uuid,
    name: 'tiny1',
    state,
    stateReason: 0,
    ips: [],
    heardIps: [],
  });
  const other: Domain = { ...vm('shutoff'), uuid: '11111111-2222-4333-8444-666666666666', name: 'other' };
  let hosts: { alias: string; domains: Domain[]; connected: boolean }[];
  let leftOverTree: HostsTreeProvider;
  const rowsOf = (alias: string) =>
    (leftOverTree.getChildren({ kind: 'host', alias }) as DomainNode[]).map((n) => `${n.domain.name}:${n.runsOn}`);

  beforeEach(() => {
    hosts = [
      { alias: 'hostA', domains: [vm('shutoff'), other], connected: true },
      { alias: 'hostB', domains: [vm('running')], connected: true },
    ];
    const running = new RunningIndex();
    const inventory = (alias: string) => {
      const h = hosts.find((x) => x.alias === alias);
      return (
        h && {
          alias,
          domains: h.domains,
          connection: { state: { kind: h.connected ? 'connected' : 'disconnected' } },
          kubevirt: { pods: [] },
        }
      );
    };
    const registry = {
      onDidChange: registryChanged.event,
      get: inventory,
      get hosts() {
        return hosts.map((h) => inventory(h.alias));
      },
      whereRunning: () => running.update(hosts.filter((h) => h.connected)),
    } as unknown as HostRegistry;
    const migrations = { onDidChange: migrationChanged.event, byDomain: () => new Map() } as unknown as MigrationRunner;
    const qemu: QemuSource = { describe: () => undefined, staleCount: () => 0, onDidChange: qemuChanged.event };
    const interfaces = { qos: { interfaces: async () => [] }, rateUnit: () => 'Mbit/s' } as unknown as InterfaceSource;
    leftOverTree = new HostsTreeProvider(registry, migrations, interfaces, qemu);
  });
  afterEach(() => leftOverTree.dispose());

  /** both hosts drawn, expanded; what is redrawn from then on */
  function drawBoth(): string[] {
    const drawn: string[] = [];
    leftOverTree.onDidChangeTreeData((n: TreeNode | undefined) => drawn.push(n ? n.alias : '*'));
    leftOverTree.getChildren();
    rowsOf('hostA');
    rowsOf('hostB');
    return drawn;
  }

  it('says where its domain runs; the running domain and unrelated ones say nothing', () => {
    leftOverTree.getChildren();
    expect(rowsOf('hostA')).toEqual(['other:undefined', 'tiny1:hostB']);
    expect(rowsOf('hostB')).toEqual(['tiny1:undefined']);
  });

  it("is redrawn when its domain stops, starts or its host goes away on another host, not on others' changes", async () => {
    const drawn = drawBoth();
    // a change on hostB that leaves tiny1 running there: only hostB is redrawn
    hosts[1].domains = [vm('running'), { ...other, uuid: '11111111-2222-4333-8444-777777777777' }];
    registryChanged.fire('hostB');
    await vi.advanceTimersByTimeAsync(100);
    expect(drawn).toEqual(['hostB']);
    // tiny1 shut down on hostB: hostA's row no longer says it runs there
    hosts[1].domains = [vm('shutoff')];
    registryChanged.fire('hostB');
    await vi.advanceTimersByTimeAsync(100);
    expect(drawn.slice(1).sort()).toEqual(['hostA', 'hostB']);
    expect(rowsOf('hostA')).toEqual(['other:undefined', 'tiny1:undefined']);
    rowsOf('hostB');
    // started again there
    hosts[1].domains = [vm('running')];
    registryChanged.fire('hostB');
    await vi.advanceTimersByTimeAsync(100);
    expect(drawn.slice(3).sort()).toEqual(['hostA', 'hostB']);
    expect(rowsOf('hostA')).toEqual(['other:undefined', 'tiny1:hostB']);
    // hostB disconnected: what it ran is not known to run any more
    hosts[1].connected = false;
    registryChanged.fire('hostB');
    await vi.advanceTimersByTimeAsync(100);
    expect(drawn.slice(5).sort()).toEqual(['hostA', 'hostB']);
    expect(rowsOf('hostA')).toEqual(['other:undefined', 'tiny1:undefined']);
  });

  it('redraws a collapsed host (never asked for its rows again) once per change, not at every later redraw', async () => {
    const drawn = drawBoth();
    hosts[1].domains = [vm('shutoff')];
    registryChanged.fire('hostB');
    await vi.advanceTimersByTimeAsync(100);
    expect(drawn.sort()).toEqual(['hostA', 'hostB']);
    // hostA collapsed meanwhile: VS Code does not ask for its rows; changes on hostB alone follow
    for (let i = 0; i < 5; i++) {
      hosts[1].domains = [vm('shutoff'), { ...other, name: `other${i}` }];
      registryChanged.fire('hostB');
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(drawn.slice(2)).toEqual(['hostB', 'hostB', 'hostB', 'hostB', 'hostB']);
  });
});
