import { MessageStore, type StoredMessage } from './message-store.ts';
import type { RateLimiter } from './rate-limiter.ts';
import type { Params } from './request-params.ts';
import type { MessageEdit, SlackIdentity } from './slack-server-types.ts';

export type MethodOutcome =
  | { readonly kind: 'ok'; readonly body: Readonly<Record<string, unknown>> }
  | { readonly kind: 'error'; readonly error: string }
  | { readonly kind: 'ratelimited'; readonly waitMs: number };

export interface MethodContext {
  readonly store: MessageStore;
  readonly limiter: RateLimiter;
  readonly identity: SlackIdentity;
  readonly now: () => number;
  /** Called after any message was added or changed. */
  readonly onChange: () => void;
}

type Handler = (params: Params) => MethodOutcome;

const MAX_TEXT = 40_000;
const MAX_BLOCKS = 50;
const BOOLEAN_ARGS = ['as_user', 'link_names', 'mrkdwn', 'reply_broadcast', 'unfurl_links', 'unfurl_media', 'inclusive', 'include_all_metadata'];
const JSON_ARGS = ['blocks', 'attachments', 'metadata'];

const fail = (error: string): MethodOutcome => ({ kind: 'error', error });
const ok = (body: Record<string, unknown>): MethodOutcome => ({ kind: 'ok', body: { ok: true, ...body } });

function str(params: Params, key: string): string | undefined {
  const value = params[key];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function bool(params: Params, key: string): boolean | undefined {
  const value = params[key];
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1' || value === 1) return true;
  if (value === 'false' || value === '0' || value === 0) return false;
  return undefined;
}

/** A JSON argument: form bodies carry it as a JSON string, JSON bodies as a value. `null` means malformed. */
function jsonArg(params: Params, key: string): unknown {
  const value = params[key];
  if (typeof value !== 'string') return value;
  if (value.trim() === '') return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return null;
  }
}

function normalise(params: Params): Record<string, unknown> {
  const out: Record<string, unknown> = { ...params };
  delete out.token;
  for (const key of BOOLEAN_ARGS) {
    const b = bool(params, key);
    if (b !== undefined) out[key] = b;
  }
  for (const key of JSON_ARGS) {
    const v = jsonArg(params, key);
    if (v !== undefined && v !== null) out[key] = v;
  }
  return out;
}

type ContentResult =
  | { readonly ok: true; readonly text?: string; readonly blocks?: unknown[]; readonly attachments?: unknown[] }
  | { readonly ok: false; readonly error: string };

/** Validates text / blocks / attachments like Slack does. */
function readContent(params: Params): ContentResult {
  const text = str(params, 'text');
  const blocks = jsonArg(params, 'blocks');
  const attachments = jsonArg(params, 'attachments');
  if (blocks !== undefined && !Array.isArray(blocks)) return { ok: false, error: 'invalid_blocks_format' };
  if (attachments !== undefined && !Array.isArray(attachments)) return { ok: false, error: 'invalid_attachments' };
  if (blocks !== undefined) {
    if (blocks.length > MAX_BLOCKS) return { ok: false, error: 'invalid_blocks' };
    const wellFormed = blocks.every(
      (b: unknown) => typeof b === 'object' && b !== null && typeof (b as { type?: unknown }).type === 'string',
    );
    if (!wellFormed) return { ok: false, error: 'invalid_blocks' };
  }
  if (text !== undefined && text.length > MAX_TEXT) return { ok: false, error: 'msg_too_long' };
  const result: { ok: true; text?: string; blocks?: unknown[]; attachments?: unknown[] } = { ok: true };
  if (text !== undefined) result.text = text;
  if (blocks !== undefined) result.blocks = blocks;
  if (attachments !== undefined) result.attachments = attachments;
  return result;
}

function hasContent(c: { readonly text?: string; readonly blocks?: unknown[]; readonly attachments?: unknown[] }): boolean {
  return (c.text ?? '').trim() !== '' || (c.blocks?.length ?? 0) > 0 || (c.attachments?.length ?? 0) > 0;
}

function encodeCursor(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64');
}

function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined || cursor === '') return 0;
  const match = /^offset:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Implements the Web API methods the server knows. */
export class WebApiMethods {
  readonly #ctx: MethodContext;
  readonly #handlers: ReadonlyMap<string, Handler>;

  constructor(ctx: MethodContext) {
    this.#ctx = ctx;
    this.#handlers = new Map<string, Handler>([
      ['api.test', (p) => this.#apiTest(p)],
      ['auth.test', () => this.#authTest()],
      ['chat.postMessage', (p) => this.#postMessage(p)],
      ['chat.update', (p) => this.#update(p)],
      ['chat.getPermalink', (p) => this.#getPermalink(p)],
      ['conversations.history', (p) => this.#history(p)],
      ['conversations.replies', (p) => this.#replies(p)],
    ]);
  }

  static readonly methods: readonly string[] = [
    'api.test',
    'auth.test',
    'chat.postMessage',
    'chat.update',
    'chat.getPermalink',
    'conversations.history',
    'conversations.replies',
  ];

  has(method: string): boolean {
    return this.#handlers.has(method);
  }

  dispatch(method: string, params: Params): MethodOutcome {
    const handler = this.#handlers.get(method);
    return handler === undefined ? fail('unknown_method') : handler(params);
  }

  /** Slack's JSON shape of a stored message. */
  toSlackMessage(m: StoredMessage, includeMetadata = false): Record<string, unknown> {
    const { identity, store } = this.#ctx;
    const out: Record<string, unknown> = { type: 'message', text: m.text ?? '', user: m.user, ts: m.ts, team: identity.teamId };
    // Like Slack, message metadata is returned only to readers that ask for it (include_all_metadata).
    if (includeMetadata && m.params.metadata !== undefined) out.metadata = m.params.metadata;
    if (m.bot_id !== undefined) {
      out.bot_id = m.bot_id;
      out.app_id = identity.appId;
    }
    if (m.blocks !== undefined) out.blocks = m.blocks;
    if (m.attachments !== undefined) out.attachments = m.attachments;
    if (m.thread_ts !== undefined) {
      out.thread_ts = m.thread_ts;
      if (m.thread_ts === m.ts) {
        const replies = store.replies(m.channel, m.ts);
        const users = [...new Set(replies.map((r) => r.user))];
        out.reply_count = replies.length;
        out.reply_users_count = users.length;
        out.reply_users = users;
        out.latest_reply = replies.at(-1)?.ts ?? m.ts;
        out.is_locked = false;
      } else {
        out.parent_user_id = store.find(m.channel, m.thread_ts)?.user ?? m.user;
        if (m.reply_broadcast) out.subtype = 'thread_broadcast';
      }
    }
    const lastEdit = m.edits.at(-1);
    if (lastEdit !== undefined) out.edited = { user: m.user, ts: lastEdit.editTs };
    return out;
  }

  #apiTest(params: Params): MethodOutcome {
    const error = str(params, 'error');
    if (error !== undefined) return fail(error);
    const args = { ...params };
    delete args.token;
    return ok({ args });
  }

  #authTest(): MethodOutcome {
    const id = this.#ctx.identity;
    return ok({
      url: id.url,
      team: id.team,
      user: id.user,
      team_id: id.teamId,
      user_id: id.userId,
      bot_id: id.botId,
      is_enterprise_install: false,
    });
  }

  #postMessage(params: Params): MethodOutcome {
    const { store, limiter, identity, now } = this.#ctx;
    const rawChannel = str(params, 'channel');
    if (rawChannel === undefined || rawChannel.trim() === '') return fail('channel_not_found');
    const channel = store.resolve(rawChannel);
    if (channel === undefined) return fail('channel_not_found');
    const content = readContent(params);
    if (!content.ok) return fail(content.error);
    if (!hasContent(content)) return fail('no_text');

    const threadTsArg = str(params, 'thread_ts');
    const parent = threadTsArg === undefined || threadTsArg === '' ? undefined : store.find(channel.id, threadTsArg);
    const rootTs = parent === undefined ? threadTsArg || undefined : (parent.thread_ts ?? parent.ts);

    const waitMs = limiter.checkChannel(channel.id, now());
    if (waitMs > 0) return { kind: 'ratelimited', waitMs };

    const postedAt = now();
    const original = MessageStore.content(content);
    const message: StoredMessage = {
      ...original,
      channel: channel.id,
      channelName: channel.name,
      ts: store.nextTs(postedAt),
      user: identity.userId,
      bot_id: identity.botId,
      reply_broadcast: rootTs !== undefined && bool(params, 'reply_broadcast') === true,
      postedAt,
      original,
      edits: [],
      params: normalise(params),
    };
    if (rootTs !== undefined) message.thread_ts = rootTs;
    const root = rootTs === undefined ? undefined : store.find(channel.id, rootTs);
    if (root !== undefined && root.thread_ts === undefined) root.thread_ts = root.ts;
    store.add(message);
    this.#ctx.onChange();
    return ok({ channel: channel.id, ts: message.ts, message: this.toSlackMessage(message) });
  }

  #update(params: Params): MethodOutcome {
    const { store, identity, now } = this.#ctx;
    const rawChannel = str(params, 'channel');
    if (rawChannel === undefined || rawChannel.trim() === '') return fail('channel_not_found');
    const channel = store.resolve(rawChannel, false);
    const ts = str(params, 'ts');
    if (channel === undefined) return fail(store.resolve(rawChannel, true) === undefined ? 'channel_not_found' : 'message_not_found');
    if (ts === undefined || ts === '') return fail('message_not_found');
    const message = store.find(channel.id, ts);
    if (message === undefined) return fail('message_not_found');
    if (message.bot_id !== identity.botId) return fail('cant_update_message');
    const content = readContent(params);
    if (!content.ok) return fail(content.error);
    if (!hasContent(content)) return fail('no_text');

    // Provided fields replace the old ones; an empty array removes blocks/attachments; omitted fields stay.
    if (content.text !== undefined) message.text = content.text;
    if (content.blocks !== undefined) message.blocks = content.blocks.length > 0 ? content.blocks : undefined;
    if (content.attachments !== undefined) message.attachments = content.attachments.length > 0 ? content.attachments : undefined;
    if (message.blocks === undefined) delete message.blocks;
    if (message.attachments === undefined) delete message.attachments;
    const editedAt = now();
    const edit: MessageEdit = { ...MessageStore.content(message), editedAt, editTs: store.nextTs(editedAt) };
    message.edits.push(edit);
    this.#ctx.onChange();
    return ok({ channel: channel.id, ts: message.ts, text: message.text ?? '', message: this.toSlackMessage(message) });
  }

  #getPermalink(params: Params): MethodOutcome {
    const { store, identity } = this.#ctx;
    const rawChannel = str(params, 'channel');
    const channel = rawChannel === undefined ? undefined : store.resolve(rawChannel, false);
    if (channel === undefined) return fail('channel_not_found');
    const ts = str(params, 'message_ts');
    const message = ts === undefined ? undefined : store.find(channel.id, ts);
    if (message === undefined) return fail('message_not_found');
    let permalink = `${identity.url}archives/${channel.id}/p${message.ts.replace('.', '')}`;
    if (message.thread_ts !== undefined && message.thread_ts !== message.ts) {
      permalink += `?thread_ts=${message.thread_ts}&cid=${channel.id}`;
    }
    return ok({ channel: channel.id, permalink });
  }

  #history(params: Params): MethodOutcome {
    const { store } = this.#ctx;
    const rawChannel = str(params, 'channel');
    if (rawChannel === undefined || rawChannel.trim() === '') return fail('channel_not_found');
    const channel = store.resolve(rawChannel);
    if (channel === undefined) return fail('channel_not_found');
    const visible = store
      .list(channel.id)
      .filter((m) => m.thread_ts === undefined || m.thread_ts === m.ts || m.reply_broadcast)
      .filter(this.#timeWindow(params))
      .slice()
      .reverse();
    return this.#page(params, visible, 100);
  }

  #replies(params: Params): MethodOutcome {
    const { store } = this.#ctx;
    const rawChannel = str(params, 'channel');
    if (rawChannel === undefined || rawChannel.trim() === '') return fail('channel_not_found');
    const channel = store.resolve(rawChannel);
    if (channel === undefined) return fail('channel_not_found');
    const ts = str(params, 'ts');
    const target = ts === undefined ? undefined : store.find(channel.id, ts);
    if (target === undefined) return fail('thread_not_found');
    const rootTs = target.thread_ts ?? target.ts;
    const root = store.find(channel.id, rootTs);
    const thread = [...(root === undefined ? [] : [root]), ...store.replies(channel.id, rootTs)];
    const inWindow = this.#timeWindow(params);
    // Like Slack, the parent message is always returned first, whatever the window.
    return this.#page(params, thread.filter((m, i) => i === 0 || inWindow(m)), 1000);
  }

  #timeWindow(params: Params): (m: StoredMessage) => boolean {
    const inclusive = bool(params, 'inclusive') === true;
    const oldest = str(params, 'oldest');
    const latest = str(params, 'latest');
    const lo = oldest === undefined || oldest === '' ? -Infinity : MessageStore.tsToMicros(oldest);
    const hi = latest === undefined || latest === '' ? Infinity : MessageStore.tsToMicros(latest);
    return (m) => {
      const t = MessageStore.tsToMicros(m.ts);
      return inclusive ? t >= lo && t <= hi : t > lo && t < hi;
    };
  }

  #page(params: Params, all: readonly StoredMessage[], defaultLimit: number): MethodOutcome {
    const includeMetadata = bool(params, 'include_all_metadata') === true;
    const offset = decodeCursor(str(params, 'cursor'));
    if (offset === undefined) return fail('invalid_cursor');
    const limitArg = Number(str(params, 'limit') ?? defaultLimit);
    const limit = Number.isFinite(limitArg) && limitArg > 0 ? Math.min(Math.floor(limitArg), 1000) : defaultLimit;
    const page = all.slice(offset, offset + limit);
    const hasMore = offset + limit < all.length;
    return ok({
      messages: page.map((m) => this.toSlackMessage(m, includeMetadata)),
      has_more: hasMore,
      response_metadata: { next_cursor: hasMore ? encodeCursor(offset + limit) : '' },
    });
  }
}
