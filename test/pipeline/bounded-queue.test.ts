import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../pipeline/kinesis/bounded-queue.ts';

/** Lets every pending promise callback run, so a promise that can settle has settled. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Tracks whether a promise has settled, without awaiting it. */
function watch<T>(promise: Promise<T>): { readonly settled: () => boolean; readonly promise: Promise<T> } {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  // Rejections are asserted by the test through `promise`; this only avoids an unhandled-rejection report.
  watched.catch(() => undefined);
  return { settled: () => settled, promise: watched };
}

describe('BoundedQueue', () => {
  it('accepts pushes up to its capacity without waiting', async () => {
    const queue = new BoundedQueue<number>(2);
    const signal = new AbortController().signal;
    await queue.push(1, signal);
    await queue.push(2, signal);
    expect(queue.size).toBe(2);
  });

  it('makes push wait while full until a shift makes room, and keeps FIFO order', async () => {
    const queue = new BoundedQueue<string>(2);
    const signal = new AbortController().signal;
    await queue.push('a', signal);
    await queue.push('b', signal);
    const third = watch(queue.push('c', signal));
    await settle();
    expect(third.settled()).toBe(false);
    expect(queue.size).toBe(2);

    expect(await queue.shift(signal)).toBe('a');
    await third.promise;
    expect(queue.size).toBe(2);
    expect(await queue.shift(signal)).toBe('b');
    expect(await queue.shift(signal)).toBe('c');
    expect(queue.size).toBe(0);
  });

  it('lets several waiting pushers in one at a time, oldest first', async () => {
    const queue = new BoundedQueue<number>(1);
    const signal = new AbortController().signal;
    await queue.push(0, signal);
    const waiting = [1, 2, 3].map((n) => watch(queue.push(n, signal)));
    await settle();
    expect(waiting.map((w) => w.settled())).toEqual([false, false, false]);
    const received: number[] = [];
    for (let i = 0; i < 4; i++) {
      received.push(await queue.shift(signal));
      await settle();
      expect(queue.size).toBeLessThanOrEqual(1);
    }
    await Promise.all(waiting.map((w) => w.promise));
    // Waiters are woken in the order they started waiting.
    expect(received).toEqual([0, 1, 2, 3]);
  });

  it('makes shift wait while empty until a push', async () => {
    const queue = new BoundedQueue<string>(2);
    const signal = new AbortController().signal;
    const shifted = watch(queue.shift(signal));
    await settle();
    expect(shifted.settled()).toBe(false);
    await queue.push('x', signal);
    expect(await shifted.promise).toBe('x');
    expect(queue.size).toBe(0);
  });

  it('rejects a waiting push on abort, with the abort reason, and leaves the queue as it was', async () => {
    const queue = new BoundedQueue<string>(1);
    const controller = new AbortController();
    await queue.push('a', controller.signal);
    const blocked = watch(queue.push('b', controller.signal));
    await settle();
    const reason = new Error('shard lost');
    controller.abort(reason);
    await expect(blocked.promise).rejects.toBe(reason);
    expect(queue.size).toBe(1);

    // The queue still works with another signal; the aborted push never lands.
    const signal = new AbortController().signal;
    expect(await queue.shift(signal)).toBe('a');
    await queue.push('c', signal);
    expect(await queue.shift(signal)).toBe('c');
    expect(queue.size).toBe(0);
  });

  it('rejects a waiting shift on abort', async () => {
    const queue = new BoundedQueue<string>(1);
    const controller = new AbortController();
    const blocked = watch(queue.shift(controller.signal));
    await settle();
    controller.abort(new Error('stopping'));
    await expect(blocked.promise).rejects.toThrow('stopping');
    // A later push is not swallowed by the aborted shift.
    const signal = new AbortController().signal;
    await queue.push('x', signal);
    expect(queue.size).toBe(1);
    expect(await queue.shift(signal)).toBe('x');
  });

  it('rejects at once when it would wait on an already aborted signal', async () => {
    const queue = new BoundedQueue<string>(1);
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(queue.shift(controller.signal)).rejects.toThrow('gone');
    await queue.push('a', new AbortController().signal);
    await expect(queue.push('b', controller.signal)).rejects.toThrow('gone');
    expect(queue.size).toBe(1);
  });

  it('aborting one waiter leaves the others waiting', async () => {
    const queue = new BoundedQueue<string>(1);
    const first = new AbortController();
    const second = new AbortController();
    const a = watch(queue.shift(first.signal));
    const b = watch(queue.shift(second.signal));
    await settle();
    first.abort(new Error('first gone'));
    await expect(a.promise).rejects.toThrow('first gone');
    expect(b.settled()).toBe(false);
    await queue.push('x', new AbortController().signal);
    expect(await b.promise).toBe('x');
  });
});
