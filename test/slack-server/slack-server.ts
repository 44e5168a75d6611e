import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { handleAdminRequest } from './admin-routes.ts';
import { FaultInjector, type FaultDecision } from './fault-injector.ts';
import { MessageStore } from './message-store.ts';
import { RateLimiter } from './rate-limiter.ts';
import { parseRequestParams } from './request-params.ts';
import type {
  CallRecord,
  Clock,
  FailNextOptions,
  FaultStatus,
  OutageOptions,
  RateLimitSettings,
  RecordedMessage,
  SeedMessageOptions,
  ServerStats,
  SlackIdentity,
  SlackServerOptions,
  StormOptions,
  WaitForMessagesOptions,
} from './slack-server-types.ts';
import { WebApiMethods, type MethodContext } from './web-api-methods.ts';

const DEFAULT_IDENTITY: SlackIdentity = {
  url: 'https://driftwatch-test.slack.com/',
  team: 'Driftwatch Test',
  teamId: 'T0000000001',
  user: 'driftwatch',
  userId: 'U0000000B07',
  botId: 'B0000000001',
  appId: 'A0000000001',
};

const DEFAULT_SCOPES = ['chat:write', 'chat:write.public', 'channels:history', 'groups:history'];

interface MutableStats {
  requests: number;
  rateLimited: number;
  faultsInjected: number;
  byStatus: Record<string, number>;
  byMethod: Record<string, number>;
}

const emptyStats = (): MutableStats => ({ requests: 0, rateLimited: 0, faultsInjected: 0, byStatus: {}, byMethod: {} });

/**
 * A Slack Web API compatible HTTP server (node:http only) for tests, benchmarks and drills.
 *
 * @example
 * const slack = await SlackServer.start({ token: 'xoxb-test' });
 * const client = new WebClient('xoxb-test', { slackApiUrl: slack.url });
 * await client.chat.postMessage({ channel: 'alerts', text: 'hi' });
 * slack.messages('alerts'); // [{ channel: 'C000000001', ts: '…', text: 'hi', … }]
 * await slack.close();
 */
export class SlackServer {
  /** Web API base for `new WebClient(token, { slackApiUrl })`, e.g. `http://127.0.0.1:40123/api/`. */
  readonly url: string;
  /** Server root, e.g. `http://127.0.0.1:40123/` (admin routes live under `_admin/`). */
  readonly baseUrl: string;
  readonly port: number;
  /** The first valid token. */
  readonly token: string;
  readonly identity: SlackIdentity;

  readonly #server: Server;
  readonly #options: SlackServerOptions;
  readonly #now: Clock;
  readonly #tokens: ReadonlySet<string>;
  readonly #store: MessageStore;
  readonly #faults = new FaultInjector();
  readonly #methods: WebApiMethods;
  readonly #scopes: string;
  readonly #waiters = new Set<() => void>();
  readonly #lostReplies = new WeakSet<ServerResponse>();
  #limiter: RateLimiter;
  #calls: CallRecord[] = [];
  #stats: MutableStats = emptyStats();
  #closed = false;

  private constructor(options: SlackServerOptions, server: Server, host: string, port: number) {
    this.#options = options;
    this.#server = server;
    this.#now = options.now ?? Date.now;
    const tokens = typeof options.token === 'string' ? [options.token] : [...(options.token ?? ['xoxb-test'])];
    const [first] = tokens;
    if (first === undefined) throw new Error('SlackServer needs at least one valid token');
    this.token = first;
    this.#tokens = new Set(tokens);
    this.identity = { ...DEFAULT_IDENTITY, ...options.identity };
    this.#scopes = (options.scopes ?? DEFAULT_SCOPES).join(',');
    this.#store = new MessageStore(options.channels ?? [], options.restrictChannels ?? false);
    this.#limiter = new RateLimiter(options);
    this.#faults.setLatency(options.latencyMs ?? 0);
    const self = this;
    const ctx: MethodContext = {
      store: this.#store,
      get limiter() {
        return self.#limiter;
      },
      identity: this.identity,
      now: this.#now,
      onChange: () => {
        for (const waiter of [...this.#waiters]) waiter();
      },
    };
    this.#methods = new WebApiMethods(ctx);
    const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    this.port = port;
    this.baseUrl = `http://${urlHost}:${port}/`;
    this.url = `${this.baseUrl}api/`;
  }

  /** Starts listening (127.0.0.1, ephemeral port unless configured) and resolves once the URL is known. */
  static async start(options: SlackServerOptions = {}): Promise<SlackServer> {
    const host = options.host ?? '127.0.0.1';
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    let instance: SlackServer;
    try {
      instance = new SlackServer(options, server, host, port);
    } catch (error) {
      server.close();
      throw error;
    }
    server.on('request', (req: IncomingMessage, res: ServerResponse) => instance.#onRequest(req, res));
    return instance;
  }

  // ---------------------------------------------------------------- inspection

  /** Recorded messages (top-level and replies), oldest first; `channel` may be an id, a name or '#name'. */
  messages(channel?: string): readonly RecordedMessage[] {
    if (channel === undefined) return this.#store.list().map(MessageStore.snapshot);
    const resolved = this.#store.resolve(channel, false);
    return resolved === undefined ? [] : this.#store.list(resolved.id).map(MessageStore.snapshot);
  }

  /** One message by channel (id or name) and ts. */
  message(channel: string, ts: string): RecordedMessage | undefined {
    const resolved = this.#store.resolve(channel, false);
    const found = resolved === undefined ? undefined : this.#store.find(resolved.id, ts);
    return found === undefined ? undefined : MessageStore.snapshot(found);
  }

  /** Every API request so far (admin routes excluded), in arrival order. */
  get calls(): readonly CallRecord[] {
    return [...this.#calls];
  }

  /** How many HTTP 429 responses were served. */
  get rateLimitedCount(): number {
    return this.#stats.rateLimited;
  }

  stats(): ServerStats {
    return structuredClone(this.#stats);
  }

  /** The channel id a name/id maps to (creating it unless channels are restricted). */
  channelId(channel: string): string | undefined {
    return this.#store.resolve(channel)?.id;
  }

  /** Resolves once `messages(channel)` holds at least `count` messages; rejects after `timeoutMs` (default 2000). */
  waitForMessages(count: number, options: WaitForMessagesOptions = {}): Promise<readonly RecordedMessage[]> {
    const check = (): readonly RecordedMessage[] | undefined => {
      const found = this.messages(options.channel);
      return found.length >= count ? found : undefined;
    };
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const waiter = (): void => {
        const found = check();
        if (found === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        const have = this.messages(options.channel).length;
        reject(new Error(`timed out waiting for ${count} message(s)${options.channel === undefined ? '' : ` in ${options.channel}`}; have ${have}`));
      }, options.timeoutMs ?? 2000);
      this.#waiters.add(waiter);
    });
  }

  // ---------------------------------------------------------------- setup helpers

  /** Adds a message as if a human had posted it (no bot_id: chat.update answers cant_update_message). */
  seedMessage(options: SeedMessageOptions): RecordedMessage {
    const channel = this.#store.resolve(options.channel);
    if (channel === undefined) throw new Error(`channel ${options.channel} does not exist (restrictChannels is on)`);
    const postedAt = this.#now();
    const content = MessageStore.content(options);
    const ts = this.#store.nextTs(postedAt);
    this.#store.add({
      ...content,
      channel: channel.id,
      channelName: channel.name,
      ts,
      ...(options.thread_ts === undefined ? {} : { thread_ts: options.thread_ts }),
      user: options.user ?? 'U0HUMAN001',
      reply_broadcast: false,
      postedAt,
      original: content,
      edits: [],
      params: { ...options },
    });
    const root = options.thread_ts === undefined ? undefined : this.#store.find(channel.id, options.thread_ts);
    if (root !== undefined && root.thread_ts === undefined) root.thread_ts = root.ts;
    for (const waiter of [...this.#waiters]) waiter();
    const seeded = this.#store.find(channel.id, ts);
    if (seeded === undefined) throw new Error('seeded message vanished');
    return MessageStore.snapshot(seeded);
  }

  /** Changes rate limits at runtime (merged over the current settings; buckets start full again). */
  setRateLimits(settings: RateLimitSettings): void {
    this.#limiter.configure(settings);
  }

  // ---------------------------------------------------------------- fault injection

  /**
   * The next `count` requests (optionally only to `options.methods`) fail with `status`:
   * an HTTP status (429 carries Retry-After), 'reset' (socket destroyed) or 'hang' (never answered).
   */
  failNext(count: number, status: FaultStatus = 500, options: FailNextOptions = {}): void {
    this.#faults.failNext(count, status, options);
  }

  /** Every request (or those to `methods`) gets `status` (default 503) until the outage ends or is cleared. */
  setOutage(options: OutageOptions = {}): void {
    this.#faults.setOutage(options, this.#now());
  }

  clearOutage(): void {
    this.#faults.clearOutage();
  }

  /** Real milliseconds to wait before answering each API request. */
  setLatency(ms: number): void {
    this.#faults.setLatency(ms);
  }

  /** For `durationMs` (clock time) every chat.postMessage / chat.update gets 429 + Retry-After. */
  rateLimitStorm(durationMs: number, options: StormOptions = {}): void {
    this.#faults.rateLimitStorm(durationMs, options, this.#now());
  }

  /** Removes queued failures, outage, storm and latency. */
  clearFaults(): void {
    this.#faults.reset();
  }

  /** Back to the initial state: no messages, calls, stats or faults; rate limits and latency as in the options. */
  reset(): void {
    this.#store.reset();
    this.#faults.reset();
    this.#faults.setLatency(this.#options.latencyMs ?? 0);
    this.#limiter = new RateLimiter(this.#options);
    this.#calls = [];
    this.#stats = emptyStats();
  }

  /** Stops listening and drops every open connection (hung requests included). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  // ---------------------------------------------------------------- request handling

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.#handle(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return;
      this.#sendJson(res, 500, { ok: false, error: 'internal_error', detail: error instanceof Error ? error.message : String(error) });
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const time = this.#now();
    const url = new URL(req.url ?? '/', 'http://slack.local');
    if ((this.#options.adminRoutes ?? true) && url.pathname.startsWith('/_admin/')) {
      await handleAdminRequest(this, req, res, url);
      return;
    }
    const match = /^\/api\/([A-Za-z0-9_.]+)\/?$/.exec(url.pathname);
    const method = match?.[1];
    if (method === undefined) {
      req.resume();
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not Found');
      return;
    }

    const parsed = await parseRequestParams(req, url);
    const rawChannel = parsed.ok ? parsed.params.channel : undefined;
    const base: { method: string; time: number; channel?: string; fault?: 'failNext' } = { method, time };
    if (typeof rawChannel === 'string' || typeof rawChannel === 'number') base.channel = String(rawChannel);

    const latency = this.#faults.latencyMs;
    if (latency > 0) await sleep(latency);
    if (res.destroyed) return;

    const fault = this.#faults.decide(method, this.#now());
    if (fault !== undefined && fault.kind !== 'lose-reply') {
      this.#serveFault(res, fault, base);
      return;
    }
    if (fault !== undefined) {
      // The call is carried out below; its answer is recorded but never sent.
      this.#stats.faultsInjected += 1;
      this.#lostReplies.add(res);
      base.fault = fault.source;
    }
    if (!parsed.ok) {
      this.#respond(res, base, 200, { ok: false, error: parsed.error });
      return;
    }

    if (method !== 'api.test') {
      const token = parsed.bearer ?? (typeof parsed.params.token === 'string' ? parsed.params.token : undefined);
      if (token === undefined || token === '') {
        this.#respond(res, base, 200, { ok: false, error: 'not_authed' });
        return;
      }
      if (!this.#tokens.has(token)) {
        this.#respond(res, base, 200, { ok: false, error: 'invalid_auth' });
        return;
      }
    }
    if (!this.#methods.has(method)) {
      this.#respond(res, base, 200, { ok: false, error: 'unknown_method' });
      return;
    }

    const methodWait = this.#limiter.checkMethod(method, this.#now());
    if (methodWait > 0) {
      this.#serveRateLimited(res, base, this.#retryAfter(undefined, methodWait));
      return;
    }
    const outcome = this.#methods.dispatch(method, parsed.params);
    switch (outcome.kind) {
      case 'ok':
        this.#respond(res, base, 200, outcome.body);
        return;
      case 'error':
        this.#respond(res, base, 200, { ok: false, error: outcome.error });
        return;
      case 'ratelimited':
        this.#serveRateLimited(res, base, this.#retryAfter(undefined, outcome.waitMs));
        return;
    }
  }

  #retryAfter(explicit: number | undefined, waitMs: number | undefined): number {
    if (explicit !== undefined) return explicit;
    if (this.#options.retryAfterSeconds !== undefined) return this.#options.retryAfterSeconds;
    return waitMs === undefined ? 1 : Math.max(1, Math.ceil(waitMs / 1000));
  }

  #serveFault(res: ServerResponse, fault: Exclude<FaultDecision, { kind: 'lose-reply' }>, base: Omit<CallRecord, 'status'>): void {
    this.#stats.faultsInjected += 1;
    const call = { ...base, fault: fault.source };
    if (fault.kind === 'reset') {
      this.#record({ ...call, status: 0 });
      res.socket?.destroy();
      return;
    }
    if (fault.kind === 'hang') {
      this.#record({ ...call, status: -1 });
      return;
    }
    if (fault.status === 429) {
      this.#serveRateLimited(res, call, this.#retryAfter(fault.retryAfterSeconds, fault.remainingMs));
      return;
    }
    const error = fault.status === 503 ? 'service_unavailable' : fault.status >= 500 ? 'fatal_error' : 'http_error';
    this.#respond(res, call, fault.status, { ok: false, error });
  }

  #serveRateLimited(res: ServerResponse, base: Omit<CallRecord, 'status'>, retryAfter: number): void {
    this.#respond(res, { ...base, retryAfter }, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(retryAfter) });
  }

  #respond(
    res: ServerResponse,
    base: Omit<CallRecord, 'status'>,
    status: number,
    body: Readonly<Record<string, unknown>>,
    headers: Readonly<Record<string, string>> = {},
  ): void {
    if (this.#lostReplies.has(res)) {
      this.#record({ ...base, status: -1 });
      return;
    }
    const ok = typeof body.ok === 'boolean' ? body.ok : undefined;
    const error = typeof body.error === 'string' ? body.error : undefined;
    this.#record({
      ...base,
      status,
      ...(ok === undefined ? {} : { ok }),
      ...(error === undefined ? {} : { error }),
    });
    this.#sendJson(res, status, body, headers);
  }

  #sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-oauth-scopes': this.#scopes,
      ...headers,
    });
    res.end(JSON.stringify(body));
  }

  #record(call: CallRecord): void {
    this.#calls.push(call);
    const stats = this.#stats;
    stats.requests += 1;
    if (call.status === 429) stats.rateLimited += 1;
    stats.byStatus[String(call.status)] = (stats.byStatus[String(call.status)] ?? 0) + 1;
    stats.byMethod[call.method] = (stats.byMethod[call.method] ?? 0) + 1;
  }
}
