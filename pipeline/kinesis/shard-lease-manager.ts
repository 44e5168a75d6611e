import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../store/database-schema.ts';
import type { ShardInfo } from './shard-discovery.ts';

export interface ShardLease {
  readonly shardId: string;
  /** Fencing token: bumped at every acquisition, required by every checkpoint write. */
  readonly leaseToken: string;
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
 * expired, and only shards whose parents are finished, so a split or merge is read parent-first.
 */
export class ShardLeaseManager {
  readonly #db: Kysely<Database>;
  readonly #options: LeaseManagerOptions;

  constructor(db: Kysely<Database>, options: LeaseManagerOptions) {
    this.#db = db;
    this.#options = options;
  }

  get owner(): string {
    return this.#options.owner;
  }

  /** Records shards not yet known; existing rows (and their checkpoints) are untouched. */
  async sync(shards: readonly ShardInfo[]): Promise<void> {
    if (shards.length === 0) return;
    await this.#db
      .insertInto('shard_leases')
      .values(shards.map((shard) => ({
        stream_name: this.#options.streamName,
        shard_id: shard.shardId,
        parent_shard_ids: [...shard.parentShardIds],
        owner: null,
        lease_expires_at: null,
        checkpoint: null,
      })))
      .onConflict((oc) => oc.columns(['stream_name', 'shard_id']).doNothing())
      .execute();
  }

  /** Takes free or expired leases of ready shards, skipping the ones this worker is already running. */
  async acquire(running: ReadonlySet<string>): Promise<ShardLease[]> {
    const room = (this.#options.maxShards ?? Number.MAX_SAFE_INTEGER) - running.size;
    if (room <= 0) return [];
    const { streamName, owner, leaseMs } = this.#options;
    const result = await sql<{ shard_id: string; lease_token: string; checkpoint: string | null }>`
      update shard_leases as l
         set owner = ${owner}, lease_token = l.lease_token + 1,
             lease_expires_at = now() + ${`${leaseMs} milliseconds`}::interval, updated_at = now()
       where l.stream_name = ${streamName}
         and l.shard_id in (
           select c.shard_id from shard_leases as c
            where c.stream_name = ${streamName}
              and not c.finished
              and (c.owner is null or c.lease_expires_at < now() or c.owner = ${owner})
              and not (c.shard_id = any(${[...running]}::text[]))
              and not exists (
                select 1 from shard_leases as p
                 where p.stream_name = c.stream_name and p.shard_id = any(c.parent_shard_ids) and not p.finished)
            order by c.shard_id
            limit ${Math.min(room, 10_000)}
            for update skip locked)
      returning l.shard_id, l.lease_token::text as lease_token, l.checkpoint`.execute(this.#db);
    return result.rows.map((row) => ({ shardId: row.shard_id, leaseToken: row.lease_token, checkpoint: row.checkpoint }));
  }

  /** Extends held leases; returns the shard ids whose lease was taken by someone else. */
  async renew(leases: readonly ShardLease[]): Promise<string[]> {
    const lost: string[] = [];
    for (const lease of leases) {
      const result = await this.#db
        .updateTable('shard_leases')
        .set({ lease_expires_at: sql`now() + ${`${this.#options.leaseMs} milliseconds`}::interval`, updated_at: new Date() })
        .where('stream_name', '=', this.#options.streamName)
        .where('shard_id', '=', lease.shardId)
        .where('owner', '=', this.#options.owner)
        .where('lease_token', '=', lease.leaseToken)
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
      .where('stream_name', '=', this.#options.streamName)
      .where('shard_id', '=', lease.shardId)
      .where('owner', '=', this.#options.owner)
      .where('lease_token', '=', lease.leaseToken)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Gives a lease back at shutdown so another worker can take it without waiting for expiry. */
  async release(lease: ShardLease): Promise<void> {
    await this.#db
      .updateTable('shard_leases')
      .set({ owner: null, lease_expires_at: null, updated_at: new Date() })
      .where('stream_name', '=', this.#options.streamName)
      .where('shard_id', '=', lease.shardId)
      .where('owner', '=', this.#options.owner)
      .where('lease_token', '=', lease.leaseToken)
      .execute();
  }
}
