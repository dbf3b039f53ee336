// The extension host bundle (Node, CommonJS) and one per webview (browser, IIFE).
// Usage: node esbuild.config.mjs [--tests] [--watch]
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';

const tests = process.argv.includes('--tests');
const node = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // ssh2's optional native helpers: loaded in try/catch, pure-JS fallbacks are used without them
  external: ['vscode', 'cpu-features', '*.node'],
  // the programs run on hosts (src/remote/scripts) are bundled as their text (src/remote/scripts.d.ts)
  loader: { '.sh': 'text', '.bash': 'text', '.awk': 'text' },
};
const builds = [
  esbuild.build({ ...node, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' }),
  ...['monitor', 'traffic'].map((name) =>
    esbuild.build({
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
      sourcemap: true,
      logLevel: 'warning',
      minify: true,
      entryPoints: [`src/browser/${name}.ts`],
      outfile: `dist/webview/${name}.js`,
    }),
  ),
];
// the webview's style sheets and icon font, served from dist/webview (the CSP allows nothing from elsewhere)
mkdirSync('dist/webview', { recursive: true });
for (const [from, to] of [
  ['media/monitor.css', 'monitor.css'],
  ['node_modules/uplot/dist/uPlot.min.css', 'uplot.css'],
  ['node_modules/@vscode/codicons/dist/codicon.css', 'codicon.css'],
  ['node_modules/@vscode/codicons/dist/codicon.ttf', 'codicon.ttf'],
])
  copyFileSync(from, `dist/webview/${to}`);
if (tests) {
  const dir = 'test/exthost';
  const entries = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `${dir}/${f}`);
  builds.push(
    esbuild.build({ ...node, entryPoints: entries, outdir: 'out/test/exthost', external: [...node.external, 'mocha'] }),
  );
}
await Promise.all(builds);
