/**
 * The one place a webview page gets its Content-Security-Policy and script nonce: nothing loads but the extension's
 * own assets (style-src and font-src from the webview's cspSource, never 'unsafe-inline'), and the one script runs
 * because it carries a nonce made fresh, from crypto.randomBytes, for each page.
 */
import { randomBytes } from 'node:crypto';
import type { Webview } from 'vscode';

/** 128 random bits, hex (a CSP nonce must be unguessable: never Math.random). */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return `default-src 'none'; img-src ${cspSource} data:; style-src ${cspSource}; font-src ${cspSource}; script-src 'nonce-${nonce}';`;
}

export interface WebviewPage {
  title: string;
  /** stylesheet URIs (webview.asWebviewUri of the extension's assets) */
  styles?: string[];
  /** the page's one script (a webview URI); none for a static page */
  script?: string;
  /** the body's markup (built by the extension from its own ids and texts: nothing a host sent) */
  body: string;
}

/** A whole HTML document with the strict CSP; the nonce is new on each call unless given (tests). */
export function webviewHtml(webview: Pick<Webview, 'cspSource'>, page: WebviewPage, nonce = newNonce()): string {
  const styles = (page.styles ?? []).map((href) => `<link rel="stylesheet" href="${href}">`).join('');
  const script = page.script ? `\n<script nonce="${nonce}" src="${page.script}"></script>` : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(webview.cspSource, nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${styles}
<title>${page.title}</title></head>
<body>
${page.body}${script}
</body></html>`;
}
