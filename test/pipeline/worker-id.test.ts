import { hostname } from 'node:os';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { createRuntime } from '../../pipeline/runtime/create-runtime.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';

describe('default worker id', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('differs between two workers on the same host name and pid (containers: PID 1 everywhere)', async () => {
    const settings = loadSettings({ DATABASE_URL: database.url });
    // Same host name, same pid: what two containers sharing the host's name look like to each other.
    const [a, b] = [await createRuntime(settings, pino({ level: 'silent' }), { migrate: false }), await createRuntime(settings, pino({ level: 'silent' }), { migrate: false })];
    try {
      expect(a.workerId).not.toBe(b.workerId);
      for (const id of [a.workerId, b.workerId]) expect(id).toMatch(new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-${process.pid}-[0-9a-f]{8}$`));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('is DRIFTWATCH_WORKER_ID when set', async () => {
    const runtime = await createRuntime(loadSettings({ DATABASE_URL: database.url, DRIFTWATCH_WORKER_ID: 'ecs-task-7' }), pino({ level: 'silent' }), { migrate: false });
    try {
      expect(runtime.workerId).toBe('ecs-task-7');
    } finally {
      await runtime.close();
    }
  });
});
