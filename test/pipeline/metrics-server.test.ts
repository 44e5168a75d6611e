import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { MetricsServer } from '../../pipeline/metrics/metrics-server.ts';
import { PipelineMetrics } from '../../pipeline/metrics/pipeline-metrics.ts';
import { createRuntime } from '../../pipeline/runtime/create-runtime.ts';
import type { Runtime } from '../../pipeline/runtime/create-runtime.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { complianceEvent } from '../support/events.ts';

const logger = pino({ level: 'silent' });

describe('/metrics and /healthz', () => {
  let database: TestDatabase;
  let runtime: Runtime;
  let server: MetricsServer;
  const metrics = new PipelineMetrics({ defaultMetrics: false });
  let healthy = true;

  beforeAll(async () => {
    database = await createTestDatabase();
    runtime = await createRuntime(loadSettings({ DATABASE_URL: database.url }), logger, { metrics });
    server = new MetricsServer({ port: 0, host: '127.0.0.1', metrics, logger, health: async () => ({ healthy, shards: ['shardId-000000000000'] }) });
    await server.listen();
  });

  afterAll(async () => {
    await server?.close();
    await runtime?.close();
    await database?.drop();
  });

  it('counts records per stage, dead letters and transitions of processed batches', async () => {
    const at = Date.parse('2026-03-04T10:00:00Z');
    const records = [
      complianceEvent({ id: 'm-1', resourceId: 'b-1', compliance: 'NON_COMPLIANT', at }),
      complianceEvent({ id: 'm-1', resourceId: 'b-1', compliance: 'NON_COMPLIANT', at }),
      complianceEvent({ id: 'm-2', resourceId: 'b-2', compliance: 'COMPLIANT', at }),
    ].map((event, i) => ({ origin: { shardId: 's', sequenceNumber: String(i + 1) }, value: { data: Buffer.from(JSON.stringify(event)) } }));
    records.push({ origin: { shardId: 's', sequenceNumber: '4' }, value: { data: Buffer.from('nope') } });
    await runtime.createProcessor('s').process('s', records, null, 'replay', new AbortController().signal);

    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('driftwatch_stage_records_total{stage="decode",outcome="kept"} 3');
    expect(text).toContain('driftwatch_stage_records_total{stage="decode",outcome="rejected"} 1');
    expect(text).toContain('driftwatch_stage_records_total{stage="dedupe",outcome="dropped"} 1');
    // Records in and out of every stage: 4 in, 1 dead letter, 1 duplicate, 2 through enrich, scope and track.
    expect(text).toContain('driftwatch_stage_records_total{stage="decode",outcome="in"} 4');
    expect(text).toContain('driftwatch_stage_records_total{stage="dedupe",outcome="in"} 3');
    for (const stage of ['enrich', 'scope', 'track']) {
      expect(text).toContain(`driftwatch_stage_records_total{stage="${stage}",outcome="in"} 2`);
      expect(text).toContain(`driftwatch_stage_records_total{stage="${stage}",outcome="kept"} 2`);
    }
    expect(text).toContain('driftwatch_sink_records_total{sink="postgres",outcome="delivered"} 2');
    expect(text).toContain('driftwatch_dead_letters_total{stage="decode"} 1');
    expect(text).toContain('driftwatch_finding_transitions_total{transition="opened"} 1');
    expect(text).toContain('driftwatch_finding_transitions_total{transition="recorded"} 1');
    expect(text).toMatch(/driftwatch_state_commit_seconds_count 1\n/);
  });

  it('answers /healthz with 200 when healthy and 503 when not', async () => {
    const ok = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ healthy: true, shards: ['shardId-000000000000'] });
    healthy = false;
    const bad = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect(bad.status).toBe(503);
    expect((await fetch(`http://127.0.0.1:${server.port}/nope`)).status).toBe(404);
  });
});
