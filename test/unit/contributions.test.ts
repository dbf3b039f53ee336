import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Commands, CONTEXTS_WITHOUT_MENU, Settings, TREE_CONTEXTS, Views } from '../../src/vscode/contributions';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
const nls: Record<string, string> = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.nls.json'), 'utf8'));
/** a manifest text as VS Code shows it: a %key% replaced by its text in package.nls.json */
const shown = (v: string) => nls[/^%(.+)%$/.exec(v)?.[1] ?? ''] ?? v;

describe('package.json contributions match the typed table', () => {
  it('declares exactly the commands of the table, each with a category and an icon', () => {
    const declared = pkg.contributes.commands.map((c: { command: string }) => c.command).sort();
    expect(declared).toEqual(Object.values(Commands).sort());
    for (const c of pkg.contributes.commands) {
      expect(c).toMatchObject({ category: '%command.category%', icon: expect.stringMatching(/^\$\([\w-]+\)$/) });
      expect(shown(c.category)).toBe('Ferry');
      expect(shown(c.title), c.command).toMatch(/^[A-Z][^%]+$/);
    }
  });

  it('takes every text of the manifest from package.nls.json, and package.nls.json holds no text it does not use', () => {
    const manifest = readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8');
    const keys = [...manifest.matchAll(/"%([^%"]+)%"/g)].map((m) => m[1]);
    expect(keys.filter((k) => !(k in nls))).toEqual([]);
    expect(Object.keys(nls).filter((k) => !keys.includes(k))).toEqual([]);
  });

  it('declares exactly the settings of the table, hosts and SSH ones application-scoped', () => {
    const declared = Object.keys(pkg.contributes.configuration.properties).sort();
    expect(declared).toEqual(Object.values(Settings).sort());
    for (const [key, schema] of Object.entries<{ scope: string }>(pkg.contributes.configuration.properties))
      expect(schema.scope, key).toBe('application');
  });

  it('menus only name declared commands and the tree view', () => {
    const commands = new Set(Object.values(Commands));
    for (const [menu, items] of Object.entries<{ command: string; when?: string }[]>(pkg.contributes.menus)) {
      for (const item of items) {
        expect(commands.has(item.command as never), `${menu}: ${item.command}`).toBe(true);
        if (menu.startsWith('view/')) expect(item.when).toContain(`view == ${Views.hosts}`);
      }
    }
    expect(pkg.contributes.views.ferry[0].id).toBe(Views.hosts);
  });
});

/** What a `when` clause says of viewItem: each `viewItem =~ /re/` and `viewItem == value`, as a test of a value. */
function viewItemTests(when: string): { clause: string; test: (value: string) => boolean }[] {
  const tests = [...when.matchAll(/viewItem =~ \/((?:[^/\\]|\\.)+)\/([a-z]*)/g)].map(([clause, source, flags]) => {
    const re = new RegExp(source, flags);
    return { clause, test: (v: string) => re.test(v) };
  });
  for (const [clause, value] of when.matchAll(/viewItem == ([^\s)&|]+)/g))
    tests.push({ clause, test: (v: string) => v === value });
  return tests;
}

describe('tree context values match the menus', () => {
  const menus = Object.entries<{ command: string; when?: string }[]>(pkg.contributes.menus).flatMap(([menu, items]) =>
    items.flatMap((item) =>
      viewItemTests(item.when ?? '').map((t) => ({ ...t, where: `${menu}: ${item.command}: ${t.clause}` })),
    ),
  );

  it('finds the viewItem clauses, and no other way of naming viewItem', () => {
    expect(menus.length).toBeGreaterThan(20);
    for (const items of Object.values<{ when?: string }[]>(pkg.contributes.menus)) {
      for (const { when = '' } of items)
        expect((when.match(/viewItem/g) ?? []).length, when).toBe(viewItemTests(when).length);
    }
  });

  it('each viewItem clause matches at least one declared context value', () => {
    for (const m of menus) expect(TREE_CONTEXTS.filter(m.test), m.where).not.toEqual([]);
  });

  it('each declared context value has a menu, but those declared to have none', () => {
    for (const value of TREE_CONTEXTS) {
      const matched = menus.filter((m) => m.test(value)).map((m) => m.where);
      if (CONTEXTS_WITHOUT_MENU.includes(value)) expect(matched, value).toEqual([]);
      else expect(matched, value).not.toEqual([]);
    }
  });

  it('declares each value once, in the kind:state form', () => {
    expect(new Set(TREE_CONTEXTS).size).toBe(TREE_CONTEXTS.length);
    for (const value of TREE_CONTEXTS)
      expect(value).toMatch(/^(host|domain|kubevirt|namespace|interface|message):[a-z:]+$/);
  });
});

describe('layers', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  it.each(['core', 'transport', 'services'])('src/%s does not import vscode at run time', (layer) => {
    for (const f of files(join(__dirname, '..', '..', 'src', layer))) {
      expect(readFileSync(f, 'utf8'), f).not.toMatch(/^import (?!type )[^;]*from 'vscode'/m);
    }
  });
});
