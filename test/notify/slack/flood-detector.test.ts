import { describe, expect, it } from 'vitest';
import { FloodDetector } from '../../../pipeline/notify/slack/flood-detector.ts';
import type { FloodDecision, FloodGroupState } from '../../../pipeline/notify/slack/flood-detector.ts';
import { ChannelPacer } from '../../../pipeline/notify/slack/channel-pacer.ts';
import { ManualClock } from '../../../pipeline/clock/manual-clock.ts';

describe('FloodDetector (threshold 20)', () => {
  const detector = new FloodDetector({ threshold: 20, windowMs: 300_000 });
  const cases: readonly [string, FloodGroupState, FloodDecision][] = [
    ['a single new finding', { digestOpen: false, recentIndividual: 0, incoming: 1 }, 'individual'],
    ['exactly the threshold in one drain', { digestOpen: false, recentIndividual: 0, incoming: 20 }, 'individual'],
    ['one over the threshold in one drain', { digestOpen: false, recentIndividual: 0, incoming: 21 }, 'digest'],
    ['a rollout: thousands at once', { digestOpen: false, recentIndividual: 0, incoming: 5_000 }, 'digest'],
    ['recent posts plus this drain cross it', { digestOpen: false, recentIndividual: 15, incoming: 6 }, 'digest'],
    ['recent posts plus this drain stay under', { digestOpen: false, recentIndividual: 15, incoming: 5 }, 'individual'],
    ['an open digest takes even one more', { digestOpen: true, recentIndividual: 0, incoming: 1 }, 'digest'],
    ['nothing incoming', { digestOpen: true, recentIndividual: 100, incoming: 0 }, 'individual'],
  ];
  it.each(cases)('%s', (_name, state, expected) => {
    expect(detector.decide(state)).toBe(expected);
  });

  it('counts recent posts from a window that ends now', () => {
    expect(detector.windowStart(1_000_000)).toBe(700_000);
    expect(detector.windowMs).toBe(300_000);
  });
});

describe('ChannelPacer', () => {
  const setup = () => {
    const clock = new ManualClock(0);
    const slept: number[] = [];
    const pacer = new ChannelPacer({
      intervalMs: 1_000,
      clock,
      sleep: async (ms) => {
        slept.push(ms);
        clock.advance(ms);
      },
    });
    return { clock, slept, pacer };
  };
  const signal = new AbortController().signal;

  it('spaces calls to one channel by the interval and lets other channels go at once', async () => {
    const { slept, pacer } = setup();
    await pacer.acquire('#a', signal);
    await pacer.acquire('#b', signal);
    await pacer.acquire('#a', signal);
    await pacer.acquire('#a', signal);
    expect(slept).toEqual([1_000, 1_000]);
  });

  it('honours Retry-After for the channel only, and a workspace pause for every channel', async () => {
    const { slept, pacer } = setup();
    pacer.defer('#a', 30_000);
    await pacer.acquire('#b', signal);
    expect(slept).toEqual([]);
    await pacer.acquire('#a', signal);
    expect(slept).toEqual([30_000]);
    pacer.deferAll(5_000);
    await pacer.acquire('#c', signal);
    expect(slept).toEqual([30_000, 5_000]);
    expect(pacer.waitMs('#c')).toBe(1_000);
  });

  it('a shorter deferral never shortens a longer one', () => {
    const { pacer } = setup();
    pacer.defer('#a', 10_000);
    pacer.defer('#a', 2_000);
    expect(pacer.waitMs('#a')).toBe(10_000);
  });

  it('stops waiting when aborted', async () => {
    const { pacer } = setup();
    const controller = new AbortController();
    controller.abort();
    await expect(pacer.acquire('#a', controller.signal)).rejects.toThrow();
  });
});
