/**
 * Request and answer correlated (as microsoft/vscode-hexeditor's webview messages are): each request the webview
 * sends carries an id, each answer carries it back, and only the answer to the latest request still awaited is taken.
 * An answer to an older request (clicked twice; the panel shows another run since; its content reloaded) is dropped,
 * never taken for the new one. Pure: shared by the webview bundle and the unit tests.
 */
export class LatestRequest {
  private count = 0;
  private awaited: string | undefined;

  /** `session` keeps ids unique across content reloads (each load starts counting again): random per load. */
  constructor(private readonly session: string) {}

  /** A new request: its id; from now on only answers carrying it count. */
  begin(): string {
    this.awaited = `${this.session}-${++this.count}`;
    return this.awaited;
  }

  /** Whether an answer (an interim one, say "probing…") belongs to the request still awaited. */
  answers(requestId: string): boolean {
    return this.awaited !== undefined && requestId === this.awaited;
  }

  /** A final answer: taken (true) only if it belongs to the request awaited, which is then no longer awaited. */
  settle(requestId: string): boolean {
    if (!this.answers(requestId)) return false;
    this.awaited = undefined;
    return true;
  }

  /** Nothing awaited any more (the panel shows another run): every answer still on its way is dropped. */
  forget(): void {
    this.awaited = undefined;
  }

  get pending(): boolean {
    return this.awaited !== undefined;
  }
}
