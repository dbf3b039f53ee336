import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Commands, Settings, Views } from '../../src/vscode/contributions';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));

describe('package.json contributions match the typed table', () => {
  it('declares exactly the commands of the table, each with a category and an icon', () => {
    const declared = pkg.contributes.commands.map((c: { command: string }) => c.command).sort();
    expect(declared).toEqual(Object.values(Commands).sort());
    for (const c of pkg.contributes.commands) expect(c).toMatchObject({ category: 'Ferry', icon: expect.stringMatching(/^\$\([\w-]+\)$/) });
  });

  it('declares exactly the settings of the table, hosts and SSH ones application-scoped', () => {
    const declared = Object.keys(pkg.contributes.configuration.properties).sort();
    expect(declared).toEqual(Object.values(Settings).sort());
    for (const [key, schema] of Object.entries<{ scope: string }>(pkg.contributes.configuration.properties)) expect(schema.scope, key).toBe('application');
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

describe('layers', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  it.each(['core', 'transport', 'services'])('src/%s does not import vscode at run time', (layer) => {
    for (const f of files(join(__dirname, '..', '..', 'src', layer))) {
      expect(readFileSync(f, 'utf8'), f).not.toMatch(/^import (?!type )[^;]*from 'vscode'/m);
    }
  });
});
