import { describe, expect, it } from 'vitest';
import { DisposableStore } from '../../src/core/disposables';

describe('one owner for disposables', () => {
  it('disposes everything once, newest first, and at once what is added afterwards', () => {
    const ended: string[] = [];
    const store = new DisposableStore();
    store.add({ dispose: () => ended.push('first') });
    store.add({ dispose: () => ended.push('second') });
    store.dispose();
    store.dispose();
    expect(ended).toEqual(['second', 'first']);
    store.add({ dispose: () => ended.push('late') });
    expect(ended).toEqual(['second', 'first', 'late']);
    expect(store.isDisposed).toBe(true);
  });
});
