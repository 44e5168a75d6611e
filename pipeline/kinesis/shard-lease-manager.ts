import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../store/database-schema.ts';
import { heldLease } from './lease-fence.ts';
import type { LeaseFence } from './lease-fence.ts';
import type { LeaseTables } from './lease-tables.ts';
import type { ShardInfo } from './shard-discovery.ts';
import type { StreamIdentity } from './stream-identity.ts';

export interface ShardLease {
  readonly shardId: string;
  /** Fencing token: a new one at every acquisition (one sequence for all rows), required by every checkpoint write. */
  readonly leaseToken: string;
  readonly checkpoint: string | null;
}

/** A shard the stream no longer lists although it was never read to its end: its records are past retention. */
export interface ExpiredShard {
  readonly shardId: string;
  readonly checkpoint: string | null;
}

export interface LeaseManagerOptions {
  readonly streamName: string;
  readonly owner: string;
  readonly leaseMs: number;
  /** At most this many shards per worker, so several workers share a stream. */
  readonly maxShards?: number;
}

/**
 * Shard leases in Postgres, as KCL keeps them in DynamoDB: a worker takes shards that are free or whose lease
 * expired, and only shards whose parents are finished, so a split or merge is read parent-first. Leases belong to
 * one incarnation of the stream (`useStream`): a stream recreated under the same name starts from scratch.
 */
export class ShardLeaseManager {
  readonly #db: Kysely<Database & LeaseTables>;
  readonly #options: LeaseManagerOptions;
  #stream: StreamIdentity | null = null;

  constructor(db: Kysely<Database>, options: LeaseManagerOptions) {
    this.#db = db.withTables<LeaseTables>();
    this.#options = options;
  }

  get owner(): string {
    return this.#options.owner;
  }

  /** The stream incarnation leases are taken on (null before `useStream`). */
  get stream(): StreamIdentity | null {
    return this.#stream;
  }

  /**
   * Binds leases to the stream the name points at now. Rows from before migration 0006 (`unbound:<name>`) are
   * adopted when they were written while this stream existed; older ones belonged to a deleted stream of the same
   * name and stay unbound. Returns whether the identity changed (the stream was recreated while this worker ran)
   * and how many rows were adopted.
   */
  async useStream(stream: StreamIdentity): Promise<{ readonly changed: boolean; readonly adopted: number }> {
    if (stream.name !== this.#options.streamName) throw new Error(`stream ${stream.name} is not this worker's stream ${this.#options.streamName}`);
    if (this.#stream?.id === stream.id) return { changed: false, adopted: 0 };
    const changed = this.#stream !== null;
    const result = await sql`
      update shard_leases as l set stream_id = ${stream.id}
       where l.stream_id = ${`unbound:${stream.name}`} and l.updated_at >= ${stream.createdAt}
         and not exists (select 1 from shard_leases as b where b.stream_id = ${stream.id} and b.shard_id = l.shard_id)`.execute(this.#db);
    this.#stream = stream;
    return { changed, adopted: Number(result.numAffectedRows ?? 0) };
  }

  /**
   * Records shards not yet known (existing rows and their checkpoints are untouched) and finishes the unfinished
   * shards the stream no longer lists: Kinesis drops a closed shard from ListShards once its records are past
   * retention, and its children must not wait for it forever. Only shards older than the newest listed one count
   * (shard ids grow with every split and merge), so a shard created after this listing is never taken for expired.
   */
  async sync(shards: readonly ShardInfo[]): Promise<ExpiredShard[]> {
    const stream = this.#bound();
    if (shards.length === 0) return [];
    await this.#db
      .insertInto('shard_leases')
      .values(shards.map((shard) => ({
        stream_id: stream.id,
        stream_name: stream.name,
        shard_id: shard.shardId,
        parent_shard_ids: [...shard.parentShardIds],
        owner: null,
        lease_expires_at: null,
        checkpoint: null,
      })))
      .onConflict((oc) => oc.columns(['stream_id', 'shard_id']).doNothing())
      .execute();
    const listed = new Set(shards.map((shard) => shard.shardId));
    const newest = shards.map((shard) => shard.shardId).reduce((a, b) => (compareShardIds(a, b) >= 0 ? a : b));
    const unfinished = await this.#db.selectFrom('shard_leases').select('shard_id').where('stream_id', '=', stream.id).where('finished', '=', false).execute();
    const gone = unfinished.map((row) => row.shard_id).filter((id) => !listed.has(id) && compareShardIds(id, newest) < 0);
    if (gone.length === 0) return [];
    const expired = await this.#db
      .updateTable('shard_leases')
      .set({ finished: true, expired_at: sql`now()`, owner: null, lease_expires_at: null, updated_at: sql`now()` })
      .where('stream_id', '=', stream.id)
      .where('shard_id', 'in', gone)
      .where('finished', '=', false)
      .returning(['shard_id', 'checkpoint'])
      .execute();
    return expired.map((row) => ({ shardId: row.shard_id, checkpoint: row.checkpoint }));
  }

  /** Takes free or expired leases of ready shards, skipping the ones this worker is already running. */
  async acquire(running: ReadonlySet<string>): Promise<ShardLease[]> {
    const stream = this.#bound();
    const room = (this.#options.maxShards ?? Number.MAX_SAFE_INTEGER) - running.size;
    if (room <= 0) return [];
    const { owner, leaseMs } = this.#options;
    const result = await sql<{ shard_id: string; lease_token: string; checkpoint: string | null }>`
      update shard_leases as l
         set owner = ${owner}, lease_token = nextval('shard_lease_token_seq'),
             lease_expires_at = now() + ${`${leaseMs} milliseconds`}::interval, updated_at = now()
       where l.stream_id = ${stream.id}
         and l.shard_id in (
           select c.shard_id from shard_leases as c
            where c.stream_id = ${stream.id}
              and not c.finished
              and (c.owner is null or c.lease_expires_at < now() or c.owner = ${owner})
              and not (c.shard_id = any(${[...running]}::text[]))
              and not exists (
                select 1 from shard_leases as p
                 where p.stream_id = c.stream_id and p.shard_id = any(c.parent_shard_ids) and not p.finished)
            order by c.shard_id
            limit ${Math.min(room, 10_000)}
            for update skip locked)
      returning l.shard_id, l.lease_token::text as lease_token, l.checkpoint`.execute(this.#db);
    return result.rows.map((row) => ({ shardId: row.shard_id, leaseToken: row.lease_token, checkpoint: row.checkpoint }));
  }

  /** True when this worker holds as many shards as it may (`maxShards`). */
  full(running: ReadonlySet<string>): boolean {
    return running.size >= (this.#options.maxShards ?? Number.MAX_SAFE_INTEGER);
  }

  /** Ready shards nobody holds (free or expired, parents finished): work waiting for a worker with room. */
  async waiting(): Promise<number> {
    const stream = this.#bound();
    const result = await sql<{ n: string }>`
      select count(*)::text as n from shard_leases as c
       where c.stream_id = ${stream.id}
         and not c.finished
         and (c.owner is null or c.lease_expires_at < now())
         and not exists (
           select 1 from shard_leases as p
            where p.stream_id = c.stream_id and p.shard_id = any(c.parent_shard_ids) and not p.finished)`.execute(this.#db);
    return Number(result.rows[0]?.n ?? 0);
  }

  /** Extends held leases; returns the shard ids whose lease was taken by someone else. */
  async renew(leases: readonly ShardLease[]): Promise<string[]> {
    const lost: string[] = [];
    for (const lease of leases) {
      const result = await this.#db
        .updateTable('shard_leases')
        .set({ lease_expires_at: sql`now() + ${`${this.#options.leaseMs} milliseconds`}::interval`, updated_at: new Date() })
        .where(heldLease(this.#fence(lease)))
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) lost.push(lease.shardId);
    }
    return lost;
  }

  /** The shard is closed and fully processed: its children may start. */
  async finish(lease: ShardLease): Promise<boolean> {
    const result = await this.#db
      .updateTable('shard_leases')
      .set({ finished: true, owner: null, lease_expires_at: null, updated_at: new Date() })
      .where(heldLease(this.#fence(lease)))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Gives a lease back at shutdown so another worker can take it without waiting for expiry. */
  async release(lease: ShardLease): Promise<void> {
    await this.#db
      .updateTable('shard_leases')
      .set({ owner: null, lease_expires_at: null, updated_at: new Date() })
      .where(heldLease(this.#fence(lease)))
      .execute();
  }

  /** What a checkpoint of this lease carries (ShardCheckpoint) and what every write of it is fenced by. */
  #fence(lease: ShardLease): LeaseFence {
    return { streamName: this.#options.streamName, shardId: lease.shardId, owner: this.#options.owner, leaseToken: lease.leaseToken };
  }

  #bound(): StreamIdentity {
    if (!this.#stream) throw new Error('shard leases used before useStream(): the stream identity is unknown');
    return this.#stream;
  }
}

/** Kinesis shard ids end in a number that grows with every new shard (shardId-000000000042). */
export function compareShardIds(a: string, b: string): number {
  const na = /(\d+)$/.exec(a)?.[1];
  const nb = /(\d+)$/.exec(b)?.[1];
  if (na !== undefined && nb !== undefined) {
    const diff = BigInt(na) - BigInt(nb);
    if (diff !== 0n) return diff < 0n ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
