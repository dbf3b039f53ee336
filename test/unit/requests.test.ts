import { describe, expect, it } from 'vitest';
import { LatestRequest } from '../../src/browser/requests';

describe('monitor protocol: request and answer correlated', () => {
  it('takes the answer to the request awaited, once', () => {
    const r = new LatestRequest('s');
    expect(r.pending).toBe(false);
    const id = r.begin();
    expect(r.pending).toBe(true);
    expect(r.answers(id)).toBe(true); // "probing…"
    expect(r.settle(id)).toBe(true); // the findings
    expect(r.pending).toBe(false);
    expect(r.settle(id)).toBe(false); // the same answer again is not taken twice
  });

  it('never takes the answer to an older request for the newer one', () => {
    const r = new LatestRequest('s');
    const first = r.begin();
    const second = r.begin(); // clicked again before the first was answered
    expect(second).not.toBe(first);
    expect(r.answers(first)).toBe(false);
    expect(r.settle(first)).toBe(false); // the first answer arrives late: dropped
    expect(r.pending).toBe(true); // still awaiting the second
    expect(r.settle(second)).toBe(true);
  });

  it('drops every answer on its way once the panel shows the run anew', () => {
    const r = new LatestRequest('s');
    const id = r.begin();
    r.forget();
    expect(r.answers(id)).toBe(false);
    expect(r.settle(id)).toBe(false);
  });

  it('ids differ across content reloads, each of which counts from the start again', () => {
    const before = new LatestRequest('a');
    const old = before.begin();
    const after = new LatestRequest('b'); // the reloaded content
    const fresh = after.begin();
    expect(fresh).not.toBe(old);
    expect(after.settle(old)).toBe(false); // the answer to the request of the content before
    expect(after.settle(fresh)).toBe(true);
  });

  it('ignores ids it never made', () => {
    const r = new LatestRequest('s');
    r.begin();
    for (const id of ['', 's', 's-0', 's-2', 'x-1']) expect(r.settle(id), id).toBe(false);
  });
});
