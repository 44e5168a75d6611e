import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { SlackServer } from './slack-server.ts';

const Methods = z.array(z.string()).optional();
const RetryAfter = z.number().int().min(0).optional();
const FaultStatusSchema = z.union([z.number().int().min(100).max(599), z.literal('reset'), z.literal('hang'), z.literal('lose-reply')]);

const FailNextBody = z.object({
  count: z.number().int().positive().default(1),
  status: FaultStatusSchema.default(500),
  methods: Methods,
  retryAfterSeconds: RetryAfter,
});
const OutageBody = z.object({
  status: z.number().int().min(100).max(599).optional(),
  durationMs: z.number().nonnegative().optional(),
  untilMs: z.number().optional(),
  methods: Methods,
  retryAfterSeconds: RetryAfter,
});
const LatencyBody = z.object({ ms: z.number().nonnegative() });
const StormBody = z.object({ durationMs: z.number().nonnegative(), methods: Methods, retryAfterSeconds: RetryAfter });
const RateLimitsBody = z.object({
  rateLimiting: z.boolean().optional(),
  perChannelPerSecond: z.number().positive().optional(),
  perChannelBurst: z.number().min(1).optional(),
  tierLimits: z
    .record(z.string(), z.object({ perMinute: z.number().positive(), burst: z.number().min(1).optional() }).nullable())
    .optional(),
});

/** Drops keys whose value is undefined (zod output keeps them as present-but-undefined). */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const text = Buffer.concat(chunks).toString('utf8').trim();
  return text === '' ? {} : (JSON.parse(text) as unknown);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/**
 * HTTP control plane for drills against a standalone server (`/_admin/...`, no auth):
 * GET messages[?channel=], calls, stats; POST reset, clear-faults, fail-next, outage, latency, storm, rate-limits;
 * DELETE outage.
 */
export async function handleAdminRequest(server: SlackServer, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const route = `${req.method ?? 'GET'} ${url.pathname.replace(/^\/_admin/, '').replace(/\/$/, '')}`;
  let body: unknown;
  try {
    body = await readJson(req);
  } catch {
    send(res, 400, { ok: false, error: 'invalid_json' });
    return;
  }
  try {
    switch (route) {
      case 'GET /messages': {
        const channel = url.searchParams.get('channel');
        send(res, 200, { ok: true, messages: server.messages(channel ?? undefined) });
        return;
      }
      case 'GET /calls':
        send(res, 200, { ok: true, calls: server.calls });
        return;
      case 'GET /stats':
        send(res, 200, { ok: true, stats: server.stats() });
        return;
      case 'POST /reset':
        server.reset();
        break;
      case 'POST /clear-faults':
        server.clearFaults();
        break;
      case 'POST /fail-next': {
        const { count, status, ...options } = FailNextBody.parse(body);
        server.failNext(count, status, defined(options));
        break;
      }
      case 'POST /outage':
        server.setOutage(defined(OutageBody.parse(body)));
        break;
      case 'DELETE /outage':
        server.clearOutage();
        break;
      case 'POST /latency':
        server.setLatency(LatencyBody.parse(body).ms);
        break;
      case 'POST /storm': {
        const { durationMs, ...options } = StormBody.parse(body);
        server.rateLimitStorm(durationMs, defined(options));
        break;
      }
      case 'POST /rate-limits':
        server.setRateLimits(defined(RateLimitsBody.parse(body)));
        break;
      default:
        send(res, 404, { ok: false, error: 'unknown_admin_route', route });
        return;
    }
    send(res, 200, { ok: true });
  } catch (error) {
    send(res, 400, { ok: false, error: 'invalid_arguments', detail: error instanceof Error ? error.message : String(error) });
  }
}
