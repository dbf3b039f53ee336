/** Ferry sends no telemetry (README, "Where Ferry runs, and what it sends"): nothing it ships could. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const TELEMETRY =
  /^(@vscode\/extension-telemetry|vscode-extension-telemetry|applicationinsights|@microsoft\/(1ds-|applicationinsights)|@sentry\/|@opentelemetry\/|posthog|mixpanel|@segment\/|analytics-node|@amplitude\/|@datadog\/|@bugsnag\/|rollbar)/;

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.ts$/.test(e.name) ? [join(dir, e.name)] : [],
  );

/** what a source imports or requires, by the module name it gives */
export const importsOf = (text: string) =>
  [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map(
    (m) => m[1],
  );

describe('no telemetry', () => {
  it('no telemetry package among the dependencies, nor in the lockfile Ferry bundles from', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const declared = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
    expect(declared.filter((d) => TELEMETRY.test(d))).toEqual([]);
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
    // what the extension bundle can contain: the runtime dependencies and theirs (devDependencies are build tools)
    const shipped = Object.entries(lock.packages as Record<string, { dev?: boolean }>)
      .filter(([path, p]) => path && !p.dev)
      .map(([path]) => path.replace(/^.*node_modules\//, ''));
    expect(shipped.length).toBeGreaterThan(0);
    expect(shipped.filter((d) => TELEMETRY.test(d))).toEqual([]);
  });

  it('no source imports a telemetry module or makes a telemetry logger', () => {
    const files = sources(join(ROOT, 'src'));
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((f) => {
      const text = readFileSync(f, 'utf8');
      const modules = importsOf(text).filter((m) => TELEMETRY.test(m));
      const api = /createTelemetryLogger|TelemetryLogger|telemetryLevel|isTelemetryEnabled/.test(text)
        ? ['vscode telemetry API']
        : [];
      return [...modules, ...api].map((what) => `${f.slice(ROOT.length + 1)}: ${what}`);
    });
    expect(found).toEqual([]);
  });

  it('would see one: an import, a dynamic import and a require', () => {
    const planted = [
      "import TelemetryReporter from '@vscode/extension-telemetry';",
      "const r = await import('applicationinsights');",
      "const s = require('@sentry/node');",
    ].join('\n');
    expect(importsOf(planted).filter((m) => TELEMETRY.test(m))).toEqual([
      '@vscode/extension-telemetry',
      'applicationinsights',
      '@sentry/node',
    ]);
  });
});
