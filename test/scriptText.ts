import { readFileSync } from 'node:fs';
import type { Plugin } from 'vite';

/**
 * The programs Ferry runs on hosts (src/remote/scripts/*.sh, *.bash, *.awk) imported as their text, as esbuild's `text`
 * loader does in the bundle (esbuild.config.mjs; types: src/remote/scripts.d.ts).
 */
export function scriptText(): Plugin {
  return {
    name: 'ferry-script-text',
    enforce: 'pre',
    load(id) {
      const path = id.split('?')[0];
      if (!/\.(sh|bash|awk)$/.test(path)) return null;
      return `export default ${JSON.stringify(readFileSync(path, 'utf8'))};`;
    },
  };
}
