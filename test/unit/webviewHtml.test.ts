import type * as Crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

// the nonce must come from crypto.randomBytes: spied on, still random
vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof Crypto>();
  return { ...crypto, randomBytes: vi.fn(crypto.randomBytes) };
});
const { randomBytes } = await import('node:crypto');
const { contentSecurityPolicy, newNonce, webviewHtml } = await import('../../src/vscode/webviewHtml');

const webview = { cspSource: 'https://file+.vscode-resource.vscode-cdn.net' };
const csp = (html: string) => /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
const directives = (policy: string) =>
  new Map(
    policy
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name, ...values] = d.split(/\s+/);
        return [name, values] as const;
      }),
  );

describe('webview HTML: one CSP and nonce for every panel', () => {
  it('allows nothing by default, scripts only by nonce, styles only from the webview', () => {
    const html = webviewHtml(webview, { title: 't', styles: ['s.css'], script: 'm.js', body: '<p>x</p>' }, 'abc123');
    const policy = csp(html)!;
    expect(policy).toBe(contentSecurityPolicy(webview.cspSource, 'abc123'));
    const d = directives(policy);
    expect(d.get('default-src')).toEqual(["'none'"]);
    expect(d.get('script-src')).toEqual(["'nonce-abc123'"]);
    expect(d.get('style-src')).toEqual([webview.cspSource]);
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).not.toContain('unsafe-eval');
    expect(policy).not.toMatch(/\*/);
    expect(html).toContain('<script nonce="abc123" src="m.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="s.css">');
    // the one script tag is the one with the nonce; no inline script or style
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/<style|style="/);
  });

  it('makes a fresh nonce from crypto.randomBytes (128 bits) for each page', () => {
    vi.mocked(randomBytes).mockClear();
    const a = newNonce();
    expect(randomBytes).toHaveBeenCalledWith(16);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    const pages = [1, 2, 3].map(() => webviewHtml(webview, { title: 't', script: 'm.js', body: '' }));
    const nonces = pages.map((p) => /'nonce-([0-9a-f]+)'/.exec(p)![1]);
    expect(new Set([a, ...nonces]).size).toBe(4);
    for (const [i, p] of pages.entries()) expect(p).toContain(`<script nonce="${nonces[i]}"`);
  });

  it('a page without a script has none', () => {
    expect(webviewHtml(webview, { title: 't', body: '<p>gone</p>' })).not.toContain('<script');
  });
});
