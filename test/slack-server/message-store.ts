import type { KnownChannel, MessageContent, MessageEdit, RecordedMessage } from './slack-server-types.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The server's mutable view of a message; callers only ever get `RecordedMessage` snapshots. */
export type StoredMessage = Mutable<Omit<RecordedMessage, 'edits'>> & { edits: MessageEdit[] };

interface ChannelEntry extends KnownChannel {
  readonly messages: StoredMessage[];
}

const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;
const USER_ID = /^[UW][A-Z0-9]{2,}$/;

/** Converts a Slack ts ("1700000000.000100") to integer microseconds for exact comparisons. */
function tsToMicros(ts: string): number {
  const [sec = '0', frac = ''] = ts.split('.');
  return Number(sec) * 1_000_000 + Number(frac.padEnd(6, '0').slice(0, 6));
}

/** Channels, messages and the ts sequence of the local Slack server. */
export class MessageStore {
  readonly #channels = new Map<string, ChannelEntry>();
  readonly #idByName = new Map<string, string>();
  readonly #initial: readonly KnownChannel[] | undefined;
  readonly #restrict: boolean;
  #lastMicros = 0;
  #generated = 0;
  readonly #generatedInitially: number;

  constructor(channels: readonly (string | KnownChannel)[], restrict: boolean) {
    this.#restrict = restrict;
    this.#initial = channels.map((c) => (typeof c === 'string' ? this.#specFromString(c) : c));
    this.#generatedInitially = this.#generated;
    this.reset();
  }

  static tsToMicros(ts: string): number {
    return tsToMicros(ts);
  }

  /** Clears all messages and forgets channels created on the fly (configured channels stay). */
  reset(): void {
    this.#channels.clear();
    this.#idByName.clear();
    this.#lastMicros = 0;
    this.#generated = this.#generatedInitially;
    for (const c of this.#initial ?? []) this.#register(c.id, c.name);
  }

  /**
   * Maps a `channel` argument (id, name or '#name'; a user id maps to a DM channel) to a channel.
   * Unknown channels are created unless the store is restricted or `create` is false.
   */
  resolve(raw: string, create = true): KnownChannel | undefined {
    const key = raw.trim().replace(/^#/, '');
    if (key === '') return undefined;
    const id = USER_ID.test(key) ? `D${key.slice(1)}` : key;
    const byId = this.#channels.get(id);
    if (byId !== undefined) return byId;
    const named = this.#idByName.get(key.toLowerCase());
    if (named !== undefined) return this.#channels.get(named);
    if (this.#restrict || !create) return undefined;
    return CHANNEL_ID.test(id) ? this.#register(id, id) : this.#register(this.#newId(), key);
  }

  /** Next unique, strictly increasing Slack ts based on the clock ("1700000000.000100"). */
  nextTs(nowMs: number): string {
    this.#lastMicros = Math.max(Math.floor(nowMs) * 1000, this.#lastMicros + 100);
    const sec = Math.floor(this.#lastMicros / 1_000_000);
    const micros = this.#lastMicros % 1_000_000;
    return `${sec}.${String(micros).padStart(6, '0')}`;
  }

  add(message: StoredMessage): void {
    const channel = this.#channels.get(message.channel);
    if (channel === undefined) throw new Error(`unknown channel ${message.channel}`);
    channel.messages.push(message);
  }

  find(channelId: string, ts: string): StoredMessage | undefined {
    return this.#channels.get(channelId)?.messages.find((m) => m.ts === ts);
  }

  /** Messages of one channel (or all channels), oldest first. */
  list(channelId?: string): readonly StoredMessage[] {
    if (channelId !== undefined) return this.#channels.get(channelId)?.messages ?? [];
    return [...this.#channels.values()]
      .flatMap((c) => c.messages)
      .sort((a, b) => tsToMicros(a.ts) - tsToMicros(b.ts));
  }

  /** Replies of the thread rooted at `rootTs`, oldest first (root excluded). */
  replies(channelId: string, rootTs: string): readonly StoredMessage[] {
    return this.list(channelId).filter((m) => m.thread_ts === rootTs && m.ts !== rootTs);
  }

  /** Immutable deep copy for callers. */
  static snapshot(message: StoredMessage): RecordedMessage {
    return structuredClone(message) as RecordedMessage;
  }

  static content(source: MessageContent): MessageContent {
    const out: Mutable<MessageContent> = {};
    if (source.text !== undefined) out.text = source.text;
    if (source.blocks !== undefined) out.blocks = structuredClone(source.blocks);
    if (source.attachments !== undefined) out.attachments = structuredClone(source.attachments);
    return out;
  }

  #specFromString(raw: string): KnownChannel {
    const key = raw.trim().replace(/^#/, '');
    return CHANNEL_ID.test(key) ? { id: key, name: key } : { id: this.#newId(), name: key };
  }

  #register(id: string, name: string): ChannelEntry {
    const entry: ChannelEntry = { id, name, messages: [] };
    this.#channels.set(id, entry);
    this.#idByName.set(name.toLowerCase(), id);
    return entry;
  }

  #newId(): string {
    let id: string;
    do {
      this.#generated += 1;
      id = `C${String(this.#generated).padStart(9, '0')}`;
    } while (this.#channels.has(id) || (this.#initial ?? []).some((c) => c.id === id));
    return id;
  }
}
