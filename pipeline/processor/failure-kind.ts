import { LeaseLostError } from '../types/lease-lost-error.ts';
import { StateConflictError } from '../sinks/postgres/state-conflict-error.ts';

/**
 * data: the store refused a value (SQLSTATE class 22 data exception, 23 integrity constraint, 54 program limit such
 * as an index row over the btree limit): a record's fault, so the batch is split until that record is found.
 * transient: the connection, the lease, contention, an abort: try again, the same records will go through.
 * other: anything else (a bug, a misconfigured store): retried, and isolated only if it keeps failing at one record.
 */
export type FailureKind = 'data' | 'transient' | 'other';

const TransientCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);
// 08 connection, 40 serialization failure and deadlock, 53 insufficient resources, 55 lock not available,
// 57 operator intervention (shutdown, statement timeout), 58 system error (I/O).
const TransientClasses = new Set(['08', '40', '53', '55', '57', '58']);
const DataClasses = new Set(['22', '23', '54']);
const TransientMessages = /connection terminated|timeout exceeded when trying to connect|client has encountered a connection error|not queryable|connection error/i;

export function failureKind(error: unknown): FailureKind {
  if (error instanceof LeaseLostError || error instanceof StateConflictError) return 'transient';
  const e = error as { name?: unknown; code?: unknown; message?: unknown } | null;
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return 'transient';
  const code = typeof e?.code === 'string' ? e.code : '';
  // System error codes first: EPIPE has the shape of a SQLSTATE.
  if (TransientCodes.has(code)) return 'transient';
  if (/^[0-9A-Z]{5}$/.test(code)) {
    const sqlClass = code.slice(0, 2);
    if (DataClasses.has(sqlClass)) return 'data';
    if (TransientClasses.has(sqlClass)) return 'transient';
    return 'other';
  }
  if (typeof e?.message === 'string' && TransientMessages.test(e.message)) return 'transient';
  return 'other';
}

/** Deadlocks and serialization failures: worth trying the same transaction again at once. */
export function isContention(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}
