import { setTimeout as sleepFor } from 'node:timers/promises';

/** How a job waits; tests pass one that moves a manual clock instead of sleeping. Rejects when `signal` aborts. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const systemSleep: Sleep = (ms, signal) => sleepFor(ms, undefined, { signal });
