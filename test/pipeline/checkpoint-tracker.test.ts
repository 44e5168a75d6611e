import { describe, expect, it } from 'vitest';
import { CheckpointTracker } from '../../pipeline/kinesis/checkpoint-tracker.ts';
import { compareSequenceNumbers } from '../../pipeline/kinesis/sequence-number.ts';

// Real Kinesis sequence numbers are 56-digit decimals; these share a prefix and differ at the end.
const Prefix = '4959033827149025660855969253836157109592157598913658';
const seq = (n: number) => `${Prefix}${String(n).padStart(4, '0')}`;

interface Case {
  readonly name: string;
  readonly initial: string | null;
  readonly track: readonly string[];
  /** Each ack and the checkpoint it must return. */
  readonly acks: readonly (readonly [string, string | null])[];
  readonly inFlight: number;
}

const cases: readonly Case[] = [
  {
    name: 'in-order acks move the checkpoint one batch at a time',
    initial: null,
    track: [seq(10), seq(20), seq(30)],
    acks: [[seq(10), seq(10)], [seq(20), seq(20)], [seq(30), seq(30)]],
    inFlight: 0,
  },
  {
    name: 'an ack beyond a gap holds the checkpoint at the gap, then it jumps',
    initial: seq(5),
    track: [seq(10), seq(20), seq(30)],
    acks: [[seq(20), seq(5)], [seq(30), seq(5)], [seq(10), seq(30)]],
    inFlight: 0,
  },
  {
    name: 'the first batch acked last, with no initial checkpoint',
    initial: null,
    track: [seq(10), seq(20)],
    acks: [[seq(20), null], [seq(10), seq(20)]],
    inFlight: 0,
  },
  {
    name: 'two gaps close one after the other',
    initial: null,
    track: [seq(1), seq(2), seq(3), seq(4), seq(5)],
    acks: [[seq(2), null], [seq(4), null], [seq(1), seq(2)], [seq(3), seq(4)], [seq(5), seq(5)]],
    inFlight: 0,
  },
  {
    name: 'an unacknowledged batch keeps later ones in flight',
    initial: seq(1),
    track: [seq(2), seq(3), seq(4)],
    acks: [[seq(3), seq(1)], [seq(4), seq(1)]],
    inFlight: 3,
  },
  {
    name: 'sequence numbers that grow a digit',
    initial: '9',
    track: ['99', '100', '1000'],
    acks: [['1000', '9'], ['100', '9'], ['99', '1000']],
    inFlight: 0,
  },
];

describe('CheckpointTracker', () => {
  it.each(cases)('$name', ({ initial, track, acks, inFlight }) => {
    const tracker = new CheckpointTracker(initial);
    for (const last of track) tracker.track(last);
    expect(tracker.inFlight).toBe(track.length);
    for (const [last, expected] of acks) {
      expect(tracker.ack(last)).toBe(expected);
      expect(tracker.checkpoint).toBe(expected);
    }
    expect(tracker.inFlight).toBe(inFlight);
  });

  it.each([
    { name: 'the oldest batch', acked: [], ifAcked: seq(10), expected: seq(10), inFlight: 3 },
    { name: 'a batch behind an unacked one', acked: [], ifAcked: seq(20), expected: seq(5), inFlight: 3 },
    { name: 'the gap, with later batches acked', acked: [seq(20), seq(30)], ifAcked: seq(10), expected: seq(30), inFlight: 3 },
    { name: 'the gap, with only the next one acked', acked: [seq(20)], ifAcked: seq(10), expected: seq(20), inFlight: 3 },
    { name: 'the last batch after the earlier ones', acked: [seq(10), seq(20)], ifAcked: seq(30), expected: seq(30), inFlight: 1 },
    { name: 'a batch that is not tracked', acked: [seq(10)], ifAcked: seq(99), expected: seq(10), inFlight: 2 },
  ])('checkpointIfAcked($ifAcked) for $name', ({ acked, ifAcked, expected, inFlight }) => {
    const tracker = new CheckpointTracker(seq(5));
    for (const last of [seq(10), seq(20), seq(30)]) tracker.track(last);
    for (const last of acked) tracker.ack(last);
    const before = tracker.checkpoint;
    expect(tracker.checkpointIfAcked(ifAcked)).toBe(expected);
    // Asking acknowledges nothing.
    expect(tracker.checkpoint).toBe(before);
    expect(tracker.inFlight).toBe(inFlight);
  });

  it.each([
    { name: 'a batch before the previous one', initial: null, track: [seq(20), seq(10)] },
    { name: 'the same batch twice', initial: null, track: [seq(20), seq(20)] },
    { name: 'a batch at the initial checkpoint', initial: seq(20), track: [seq(20)] },
    { name: 'a batch before the initial checkpoint', initial: seq(20), track: [seq(19)] },
    { name: 'a shorter (smaller) number after a longer one', initial: null, track: ['100', '99'] },
    { name: 'a shorter number than the checkpoint', initial: '100', track: ['99'] },
  ])('track() of $name throws RangeError', ({ initial, track }) => {
    const tracker = new CheckpointTracker(initial);
    const last = track.at(-1)!;
    for (const earlier of track.slice(0, -1)) tracker.track(earlier);
    expect(() => tracker.track(last)).toThrow(RangeError);
    expect(() => tracker.track(last)).toThrow(`batch ending at ${last} is not after`);
  });

  it('track() after the checkpoint moved compares with the checkpoint', () => {
    const tracker = new CheckpointTracker(null);
    tracker.track(seq(10));
    tracker.ack(seq(10));
    expect(() => tracker.track(seq(10))).toThrow(RangeError);
    tracker.track(seq(11));
    expect(tracker.ack(seq(11))).toBe(seq(11));
  });

  it('ack() of an untracked or already checkpointed batch throws RangeError', () => {
    const tracker = new CheckpointTracker(null);
    tracker.track(seq(10));
    expect(() => tracker.ack(seq(11))).toThrow(RangeError);
    tracker.ack(seq(10));
    expect(() => tracker.ack(seq(10))).toThrow(RangeError);
  });

  it('starts from the initial checkpoint', () => {
    expect(new CheckpointTracker(seq(7)).checkpoint).toBe(seq(7));
    expect(new CheckpointTracker(null).checkpoint).toBeNull();
    expect(new CheckpointTracker(seq(7)).checkpointIfAcked(seq(8))).toBe(seq(7));
  });
});

describe('compareSequenceNumbers', () => {
  it.each([
    ['1', '2', -1],
    ['2', '1', 1],
    ['7', '7', 0],
    ['9', '10', -1],
    ['10', '9', 1],
    ['99', '100', -1],
    ['1000', '999', 1],
    [seq(1), seq(2), -1],
    [seq(9), seq(10), -1],
    [seq(2), seq(1), 1],
    [seq(42), seq(42), 0],
    // A 57-digit number is later than any 56-digit one.
    [`1${seq(0)}`, seq(9999), 1],
    [seq(9999), `1${seq(0)}`, -1],
    // Lexical order of equal-length strings is numeric order, even where the first digits differ.
    ['49590338271490256608559692538361571095921575989136588898', '50000000000000000000000000000000000000000000000000000000', -1],
  ])('compare(%s, %s) has the sign %i', (a, b, sign) => {
    expect(Math.sign(compareSequenceNumbers(a, b))).toBe(sign);
  });

  it('sorts mixed lengths numerically', () => {
    const numbers = ['100', '9', '1000', '99', '10', '1'];
    expect([...numbers].sort(compareSequenceNumbers)).toEqual(['1', '9', '10', '99', '100', '1000']);
  });
});
