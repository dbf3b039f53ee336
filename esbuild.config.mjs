// Two bundles: the extension host (Node, CommonJS) and the webview front-end (browser, ESM).
// Usage: node esbuild.config.mjs [--tests] [--watch]
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';

const tests = process.argv.includes('--tests');
const node = {
  bundle: true, platform: 'node', format: 'cjs', target: 'node20', sourcemap: true, logLevel: 'warning',
  // ssh2's optional native helpers: loaded in try/catch, pure-JS fallbacks are used without them
  external: ['vscode', 'cpu-features', '*.node'],
};
const builds = [esbuild.build({ ...node, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' })];
if (tests) {
  const dir = 'test/exthost';
  const entries = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => `${dir}/${f}`);
  builds.push(esbuild.build({ ...node, entryPoints: entries, outdir: 'out/test/exthost', external: [...node.external, 'mocha'] }));
}
await Promise.all(builds);
