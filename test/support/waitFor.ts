/**
 * A condition's value once it holds, for suites without vitest's vi.waitFor (the extension host's Mocha) and for the
 * integration tests; fails naming what it waited for.
 */
/** how often the condition is asked again */
const POLL_MS = 20;

export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
