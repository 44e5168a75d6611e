import { describe, expect, it } from 'vitest';
import { StateCache } from '../../stages/track/state-cache.ts';

const state = (name: string) => ({ name });

/** A cache of capacity 4 whose old generation holds `a` and `b` (states named by `values`), and whose young one is empty. */
function withOldGeneration(values: { a: string; b: string } = { a: 'a', b: 'b' }): StateCache<{ name: string } | null> {
  const cache = new StateCache<{ name: string } | null>(4);
  cache.set('a', state(values.a));
  cache.set('b', state(values.b));
  cache.rotate();
  return cache;
}

describe('StateCache', () => {
  it('keeps every key until it rotates, however many (never within a batch)', () => {
    const cache = new StateCache<{ name: string } | null>(4);
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, state(`s${i}`));
    for (let i = 0; i < 10; i++) expect(cache.get(`k${i}`)).toEqual(state(`s${i}`));
  });

  it('a rotation forgets the old generation and keeps the young one', () => {
    const cache = withOldGeneration();
    cache.set('c', state('c'));
    cache.set('d', state('d'));
    cache.rotate();
    expect(cache.has('a')).toBe(false);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toEqual(state('c'));
    expect(cache.get('d')).toEqual(state('d'));
    expect(cache.size).toBe(2);
  });

  it('does not rotate a young generation below half the capacity', () => {
    const cache = new StateCache<{ name: string } | null>(4);
    cache.set('a', state('a'));
    cache.rotate();
    cache.rotate();
    expect(cache.get('a')).toEqual(state('a'));
  });

  it('a key set again survives the next rotation with its newest value', () => {
    const cache = withOldGeneration({ a: 'old', b: 'b' });
    cache.set('a', state('new'));
    cache.set('c', state('c'));
    expect(cache.get('a')).toEqual(state('new'));
    cache.rotate();
    expect(cache.get('a')).toEqual(state('new'));
    expect(cache.has('b')).toBe(false);
  });

  it('null is a cached value that hides an older generation, not a miss', () => {
    const cache = withOldGeneration({ a: 'stored', b: 'b' });
    cache.set('a', null);
    expect(cache.has('a')).toBe(true);
    expect(cache.get('a')).toBeNull();
  });

  it('delete and clear reach both generations', () => {
    const cache = withOldGeneration();
    cache.set('a', state('a2'));
    cache.delete('a');
    expect(cache.has('a')).toBe(false);
    cache.clear();
    expect(cache.has('b')).toBe(false);
    expect(cache.size).toBe(0);
  });
});
