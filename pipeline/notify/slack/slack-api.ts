import { LogLevel, WebClient } from '@slack/web-api';
import type { ChatPostMessageArguments, ChatUpdateArguments, Logger as SlackLogger } from '@slack/web-api';
import type { Logger } from 'pino';
import type { SlackNotifierConfig } from './config.ts';
import type { SlackMessage } from './message-format.ts';

/** The metadata event type that marks driftwatch's messages; its payload names the delivery (post_key). */
export const MarkerEventType = 'driftwatch_notification';

export interface PostRequest {
  readonly channel: string;
  readonly message: SlackMessage;
  readonly threadTs: string | null;
  /** Also show a thread reply in the channel. */
  readonly broadcast: boolean;
  /** Unique per delivery; stored in the message metadata so a lost ts can be found again. */
  readonly marker: string;
}

export interface PostedMessage {
  readonly channelId: string;
  readonly ts: string;
}

export interface FoundMessage {
  readonly ts: string;
}

/**
 * The few Web API calls the notifier makes, with the client's own retries off: retry.ts decides, the pacer waits.
 * The token lives only inside the WebClient; nothing here logs arguments or returns raw errors' bodies.
 */
export class SlackApi {
  readonly #client: WebClient;

  constructor(client: WebClient) {
    this.#client = client;
  }

  static create(config: SlackNotifierConfig, logger: Logger): SlackApi {
    if (!config.token) throw new Error('SlackApi needs a token');
    return new SlackApi(
      new WebClient(config.token.reveal(), {
        ...(config.apiUrl ? { slackApiUrl: config.apiUrl.endsWith('/') ? config.apiUrl : `${config.apiUrl}/` } : {}),
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
        timeout: config.requestTimeoutMs,
        logger: quietLogger(logger),
        logLevel: LogLevel.WARN,
      }),
    );
  }

  async authTest(): Promise<{ readonly team: string | null; readonly user: string | null }> {
    const res = await this.#client.auth.test();
    return { team: res.team ?? null, user: res.user ?? null };
  }

  async post(request: PostRequest): Promise<PostedMessage> {
    const args = {
      channel: request.channel,
      text: request.message.text,
      blocks: request.message.blocks,
      unfurl_links: false,
      unfurl_media: false,
      metadata: { event_type: MarkerEventType, event_payload: { post_key: request.marker } },
      ...(request.threadTs ? { thread_ts: request.threadTs, reply_broadcast: request.broadcast } : {}),
    } as unknown as ChatPostMessageArguments;
    const res = await this.#client.chat.postMessage(args);
    if (!res.ts || !res.channel) throw new Error('chat.postMessage answered ok without channel and ts');
    return { channelId: res.channel, ts: res.ts };
  }

  async update(channelId: string, ts: string, message: SlackMessage): Promise<void> {
    await this.#client.chat.update({ channel: channelId, ts, text: message.text, blocks: message.blocks } as unknown as ChatUpdateArguments);
  }

  /**
   * Looks for the message carrying `marker` among the channel's (or thread's) recent messages: after a crash between
   * a post and recording its ts, adopting the found message avoids posting it twice.
   */
  async findByMarker(channel: string, marker: string, options: { readonly threadTs: string | null; readonly oldestMs: number; readonly maxPages?: number }): Promise<FoundMessage | null> {
    const oldest = (Math.max(0, options.oldestMs) / 1_000).toFixed(6);
    let cursor: string | undefined;
    for (let page = 0; page < (options.maxPages ?? 10); page++) {
      const common = { channel, oldest, limit: 200, include_all_metadata: true, ...(cursor ? { cursor } : {}) };
      const res = options.threadTs
        ? await this.#client.conversations.replies({ ...common, ts: options.threadTs })
        : await this.#client.conversations.history(common);
      for (const message of (res.messages ?? []) as readonly { ts?: string; metadata?: { event_type?: string; event_payload?: Record<string, unknown> } }[]) {
        if (message.metadata?.event_type === MarkerEventType && message.metadata.event_payload?.post_key === marker && message.ts) return { ts: message.ts };
      }
      cursor = res.response_metadata?.next_cursor || undefined;
      if (!res.has_more || !cursor) break;
    }
    return null;
  }
}

/** The WebClient's own log lines go to debug: the notifier logs its decisions itself, with fields. */
function quietLogger(logger: Logger): SlackLogger {
  const child = logger.child({ component: 'slack-web-api' });
  let level = LogLevel.WARN;
  const write = (msg: readonly unknown[]) => child.debug({ detail: msg.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.name : typeof m)).join(' ') }, 'slack client log');
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (...msg: unknown[]) => write(msg),
    error: (...msg: unknown[]) => write(msg),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
