/**
 * MonitorPanels' bookkeeping on a fake VS Code: one panel per run; a webview that says it is ready gets the run
 * whole, then only what is new (each sample once, each marker once, the header only when a field of it changes); a
 * hidden panel gets nothing until it reloads; a later migration of the run's operation is joined onto the earlier
 * run's panel, shifted onto its time axis; a disposed panel gets nothing more. MonitorPanels sets no timers, so
 * the tests wait for its async loading (vi.waitFor, a flush) and need no fake ones.
 */
import type * as vscode from 'vscode';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FromWebview, ToWebview } from '../../src/browser/protocol';
import { Emitter } from '../../src/core/emitter';
import type { Sample } from '../../src/core/migration/monitor';
import type { MigrationEvent, MigrationRecord } from '../../src/core/migration/record';
import { next } from '../../src/core/migration/record';
import { silentLogger } from '../../src/transport/logger';
import type { FerryContext } from '../../src/vscode/context';
import { MonitorPanels } from '../../src/views/monitorPanel';
import { fresh, leg, reading, seriesNamed } from './recordedRuns';

/** a webview panel as VS Code makes it; `messages`: every one posted to it, serialized as it was posted */
interface FakePanel {
  title: string;
  visible: boolean;
  reveals: number;
  messages: ToWebview[];
  /** its webview posts a message; the panel is hidden or shown (its view state changes) */
  receive(m: FromWebview): void;
  show(visible: boolean): void;
  dispose(): void;
}

const fake = vi.hoisted(() => ({ panels: [] as FakePanel[] }));
vi.mock('vscode', async () => {
  const { Emitter } = await import('../../src/core/emitter');
  const uri = (path: string) => ({ path, toString: () => path });
  return {
    l10n: { t: (await import('../support/l10n')).l10nT },
    ViewColumn: { Active: -1 },
    Uri: { joinPath: (base: { path: string }, ...parts: string[]) => uri([base.path, ...parts].join('/')) },
    window: {
      registerWebviewPanelSerializer: () => ({ dispose() {} }),
      createWebviewPanel: (_viewType: string, title: string) => {
        const received = new Emitter<FromWebview>();
        const viewState = new Emitter<unknown>();
        const disposed = new Emitter<void>();
        // VS Code throws when a disposed panel's title or page is set ("Webview is disposed")
        const alive = <T>(value: T) => {
          if (panel.disposed) throw new Error('Webview is disposed');
          return value;
        };
        let shownTitle = title;
        let html = '';
        const panel = {
          get title() {
            return shownTitle;
          },
          set title(t: string) {
            shownTitle = alive(t);
          },
          visible: true,
          reveals: 0,
          disposed: false,
          messages: [] as ToWebview[],
          receive: (m: FromWebview) => received.fire(m),
          show(visible: boolean) {
            panel.visible = visible;
            viewState.fire({ webviewPanel: panel });
          },
          webview: {
            get html() {
              return html;
            },
            set html(h: string) {
              html = alive(h);
            },
            cspSource: 'vscode-webview:',
            asWebviewUri: (u: unknown) => u,
            onDidReceiveMessage: received.event,
            // kept after the panel is disposed too, so a message to a disposed panel shows
            postMessage: async (m: ToWebview) => panel.messages.push(JSON.parse(JSON.stringify(m)) as ToWebview) > 0,
          },
          onDidChangeViewState: viewState.event,
          onDidDispose: disposed.event,
          reveal: () => void panel.reveals++,
          dispose: () => void (panel.disposed || ((panel.disposed = true), disposed.fire())),
        };
        fake.panels.push(panel);
        return panel;
      },
    },
  };
});

// what MigrationRunner announces (each test's MonitorPanels unsubscribes when disposed), runs live and stored
const sampled = new Emitter<{ record: MigrationRecord; sample: Sample }>();
const changed = new Emitter<MigrationRecord>();
const running = new Map<string, MigrationRecord>();
const history: MigrationRecord[] = [];
/** what reading the history waits for (a slow disk) */
let storeReads: Promise<void> = Promise.resolve();
let panels: MonitorPanels;
const dirtying = seriesNamed('dirtying');
const samples = dirtying.samples;

beforeEach(() => {
  fake.panels.length = history.length = 0;
  storeReads = Promise.resolve();
  running.clear();
  const ctx = {
    migrations: {
      onDidSample: sampled.event,
      onDidChange: changed.event,
      get: (id: string) => running.get(id),
      get running() {
        return [...running.values()];
      },
    },
    migrationStore: {
      run: async (uuid: string, id: string) => {
        await storeReads;
        return history.find((r) => r.domainUuid === uuid && r.id === id);
      },
      allRuns: async () => history,
    },
    log: silentLogger,
  } as unknown as FerryContext;
  panels = new MonitorPanels(ctx, { path: '/ext' } as unknown as vscode.Uri);
});
afterEach(() => panels.dispose());

/** a job reading of a live run, announced as MigrationRunner does: the sample, then the record if it changed */
function read(r: MigrationRecord, s: Sample): MigrationRecord {
  const moved = next(r, { kind: 'sampled', stats: reading(s) }, r.startedAt + s.t);
  running.set(moved.id, moved);
  sampled.fire({ record: moved, sample: moved.samples.at(-1)! });
  if (moved !== r) changed.fire(moved);
  return moved;
}
/** anything else that moves a live run (steering, its end), announced when it made a new record */
function move(r: MigrationRecord, event: MigrationEvent): MigrationRecord {
  const moved = next(r, event, r.startedAt + (r.samples.at(-1)?.t ?? 0));
  if (moved !== r) {
    running.set(moved.id, moved);
    changed.fire(moved);
  }
  return moved;
}
/** a live run of tiny1, launched and `n` readings in */
function live(n: number): MigrationRecord {
  let r = next(fresh(), { kind: 'launched' });
  running.set(r.id, r);
  for (const s of samples.slice(0, n)) r = read(r, s);
  return r;
}
const of = <T extends ToWebview['type']>(p: FakePanel, type: T) =>
  p.messages.filter((m): m is Extract<ToWebview, { type: T }> => m.type === type);
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
/** the webview (re)loaded and asks for the run: wait for the init it is answered with */
async function ready(p: FakePanel) {
  const before = of(p, 'init').length;
  p.receive({ type: 'ready' });
  await vi.waitFor(() => expect(of(p, 'init')).toHaveLength(before + 1));
  return of(p, 'init').at(-1)!;
}

describe('MonitorPanels', () => {
  it('makes one panel per run; opening the run again reveals it', () => {
    const r = live(3);
    panels.open(r);
    panels.open(r);
    expect(fake.panels).toHaveLength(1);
    expect(fake.panels[0].reveals).toBe(1);
    expect(fake.panels[0].title).toMatch(/^tiny1 hostA→hostB /);
    panels.open({ ...r, id: `${r.domainUuid}-2` });
    expect(fake.panels).toHaveLength(2);
  });

  it('sends the whole run once when ready, then each new sample alone, each marker once', async () => {
    let r = live(5);
    panels.open(r);
    const [p] = fake.panels;
    expect(p.messages).toEqual([]);
    const { run } = await ready(p);
    expect(run).toMatchObject({ id: r.id, phase: 'running', markers: [] });
    expect(run.samples).toEqual(samples.slice(0, 5).map((s) => expect.objectContaining(s)));
    r = read(r, samples[5]);
    expect(p.messages.slice(1)).toEqual([
      { type: 'append', id: r.id, samples: [expect.objectContaining(samples[5])], markers: [] },
    ]);
    // steering leaves the header as it was: its marker comes with the next sample, and only with it
    r = move(r, { kind: 'steered', label: 'bandwidth 100 MiB/s' });
    expect(p.messages).toHaveLength(2);
    r = read(r, samples[6]);
    r = read(r, samples[7]);
    expect(p.messages.slice(2)).toEqual([
      { type: 'append', id: r.id, samples: [expect.objectContaining(samples[6])], markers: [r.markers[0]] },
      { type: 'append', id: r.id, samples: [expect.objectContaining(samples[7])], markers: [] },
    ]);
    expect(r.markers.map((m) => m.label)).toEqual(['bandwidth 100 MiB/s']);
    await flush();
    expect(of(p, 'init')).toHaveLength(1);
  });

  it('posts the header only when a field of it changes', async () => {
    let r = live(4);
    panels.open(r);
    const [p] = fake.panels;
    await ready(p);
    // the run as the init had it, announced again: nothing; switched to postcopy: one header, however often told
    changed.fire(r);
    changed.fire({ ...r });
    expect(p.messages).toHaveLength(1);
    r = move(r, { kind: 'steered', label: 'postcopy (switched by hand)', postcopy: true });
    changed.fire(r);
    changed.fire({ ...r });
    const headers = of(p, 'header');
    expect(headers).toHaveLength(1);
    expect(headers[0]).toMatchObject({ id: r.id, header: { phase: 'postcopy' } });
    expect(headers[0].markers).toEqual([
      expect.objectContaining({ kind: 'postcopy', label: 'postcopy (switched by hand)' }),
    ]);
    r = read(r, samples[4]);
    expect(p.messages.at(-1)).toEqual({ type: 'append', id: r.id, samples: [expect.any(Object)], markers: [] });
    expect(p.messages).toHaveLength(3);
  });

  it('sends a hidden panel nothing, and the whole run again once it is shown and reloads', async () => {
    let r = live(3);
    panels.open(r);
    const [p] = fake.panels;
    await ready(p);
    p.show(false);
    r = read(r, samples[3]);
    r = read(r, samples[4]);
    r = move(r, { kind: 'linkLost' });
    expect(p.messages).toHaveLength(1);
    // shown again, its content reloads: nothing until it asks for the run, then all of it and what is new
    p.show(true);
    r = read(r, samples[5]);
    expect(p.messages).toHaveLength(1);
    const { run } = await ready(p);
    expect(run.samples).toEqual(samples.slice(0, 6).map((s) => expect.objectContaining(s)));
    expect(run.phase).toBe('running');
    r = read(r, samples[6]);
    expect(p.messages.slice(2)).toEqual([
      { type: 'append', id: r.id, samples: [expect.objectContaining(samples[6])], markers: [] },
    ]);
  });

  it("joins a later migration of the run's operation onto its panel, shifted by its offset", async () => {
    const there = leg(dirtying, { source: 'hostA', target: 'hostB', startedAt: 1_000, step: 'way there' });
    history.push(there);
    panels.open(there);
    const [p] = fake.panels;
    expect((await ready(p)).run.samples).toHaveLength(samples.length);
    // the way back starts a minute later, a few readings in
    let back = leg(dirtying, {
      source: 'hostB',
      target: 'hostA',
      startedAt: 61_000,
      step: 'way back',
      until: samples[9].t,
    });
    running.set(back.id, back);
    panels.open(back);
    expect(fake.panels).toHaveLength(1);
    expect(p.reveals).toBe(1);
    await vi.waitFor(() => expect(of(p, 'init')).toHaveLength(2));
    const { run } = of(p, 'init')[1];
    expect(run).toMatchObject({ id: there.id, route: ['hostA', 'hostB', 'hostA'] });
    expect(run.samples).toHaveLength(samples.length + 10);
    expect(run.samples[samples.length].t).toBe(samples[0].t + 60_000);
    expect(run.markers).toContainEqual(expect.objectContaining({ kind: 'part', t: 60_000 }));
    expect(p.title).toMatch(/^tiny1 hostA→hostB→hostA /);
    // the way back's marker and samples on the run's time axis; its header (the data it sent) under the run's id
    back = move(back, { kind: 'steered', label: 'bandwidth 50 MiB/s' });
    back = read(back, samples[10]);
    expect(p.messages.slice(2)).toEqual([
      {
        type: 'append',
        id: there.id,
        samples: [expect.objectContaining({ ...samples[10], t: samples[10].t + 60_000 })],
        markers: [{ ...back.markers[0], t: back.markers[0].t + 60_000 }],
      },
      { type: 'header', id: there.id, header: expect.objectContaining({ phase: 'running' }), markers: [] },
    ]);
    expect(of(p, 'header')[0].header.parts?.[1]).toMatchObject({
      id: back.id,
      offsetMs: 60_000,
      dataProcessed: samples[10].processed,
    });
  });

  it('sends a disposed panel nothing more; opening the run again makes a new panel', async () => {
    let r = live(3);
    panels.open(r);
    const [first] = fake.panels;
    await ready(first);
    first.dispose();
    r = read(r, samples[3]);
    r = move(r, { kind: 'linkLost' });
    expect(first.messages).toHaveLength(1);
    panels.open(r);
    expect(fake.panels).toHaveLength(2);
    expect(first.reveals).toBe(0);
    const second = fake.panels[1];
    expect((await ready(second)).run.samples).toHaveLength(4);
    read(r, samples[4]);
    expect(second.messages.map((m) => m.type)).toEqual(['init', 'append', 'header']);
    expect(first.messages).toHaveLength(1);
  });

  it('a panel closed while its run is read from the history is left alone when the read ends', async () => {
    const stored = leg(dirtying, { source: 'hostA', target: 'hostB', startedAt: 1_000, step: 'way there' });
    history.push(stored);
    let readEnds!: () => void;
    storeReads = new Promise<void>((resolve) => (readEnds = resolve));
    panels.open(stored);
    const [panel] = fake.panels;
    panel.receive({ type: 'ready' });
    panel.dispose();
    readEnds();
    await flush();
    await flush();
    expect(panel.messages).toEqual([]);
    expect(panel.title).toBe(fake.panels[0].title);
    expect(fake.panels).toHaveLength(1);
  });
});
