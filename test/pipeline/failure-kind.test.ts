import { describe, expect, it } from 'vitest';
import { failureKind, isContention } from '../../pipeline/processor/failure-kind.ts';
import { LeaseLostError } from '../../pipeline/types/lease-lost-error.ts';
import { StateConflictError } from '../../pipeline/sinks/postgres/state-conflict-error.ts';
import { SinkError } from '../../pipeline/sinks/sink.ts';

const pgError = (code: string, message = 'error') => Object.assign(new Error(message), { code });

/** What makes the processor split a batch (data), retry it as is (transient), or retry and then isolate (other). */
describe('failureKind', () => {
  it.each([
    ['invalid byte sequence (NUL in text)', pgError('22021'), 'data'],
    ['unsupported Unicode escape (jsonb \\u0000 or a lone surrogate)', pgError('22P05'), 'data'],
    ['string too long', pgError('22001'), 'data'],
    ['unique violation', pgError('23505'), 'data'],
    ['check violation', pgError('23514'), 'data'],
    ['index row size exceeds btree maximum', pgError('54000'), 'data'],
    ['connection failure', pgError('08006'), 'transient'],
    ['deadlock', pgError('40P01'), 'transient'],
    ['serialization failure', pgError('40001'), 'transient'],
    ['too many connections', pgError('53300'), 'transient'],
    ['admin shutdown', pgError('57P01'), 'transient'],
    ['statement timeout', pgError('57014'), 'transient'],
    ['undefined column (a schema the code does not match)', pgError('42703'), 'other'],
    ['read-only transaction', pgError('25006'), 'other'],
    ['connection refused', pgError('ECONNREFUSED'), 'transient'],
    ['connection reset', pgError('ECONNRESET'), 'transient'],
    ['broken pipe (shaped like a SQLSTATE)', pgError('EPIPE'), 'transient'],
    ['pool connect timeout', new Error('timeout exceeded when trying to connect'), 'transient'],
    ['connection terminated', new Error('Connection terminated unexpectedly'), 'transient'],
    ['lost lease', new LeaseLostError('shard-1'), 'transient'],
    ['writers racing on keys', new StateConflictError(3, 'moved'), 'transient'],
    ['abort', Object.assign(new Error('aborted'), { name: 'AbortError' }), 'transient'],
    ['a sink refusing for good', new SinkError('opensearch', 'HTTP 400'), 'other'],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'x')"), 'other'],
  ] as const)('%s -> %s', (_name, error, kind) => {
    expect(failureKind(error)).toBe(kind);
  });

  it('retries deadlocks and serialization failures at once', () => {
    expect(isContention(pgError('40P01'))).toBe(true);
    expect(isContention(pgError('40001'))).toBe(true);
    expect(isContention(pgError('23505'))).toBe(false);
  });
});
