import { createHash } from 'node:crypto';

/**
 * The key a dead letter is stored under: hex SHA-256 of where it came from (source, shard, sequence number, stage,
 * each prefixed by its UTF-8 length) followed by the SHA-256 of its bytes. Two different payloads never share a key,
 * so a bad line of a second replay file is stored even when an earlier file had a bad line at the same line number,
 * while the same record read again (a re-read after a crash, the same file replayed twice) is stored once.
 * Migration 0005's `driftwatch_dead_letter_key` computes the same value in SQL for letters stored before it.
 */
export function deadLetterKeyOf(source: string, shardId: string, sequenceNumber: string, stage: string, raw: Uint8Array): string {
  let origin = '';
  for (const part of [source, shardId, sequenceNumber, stage]) origin += `${Buffer.byteLength(part)}:${part}`;
  const rawDigest = createHash('sha256').update(raw).digest();
  return createHash('sha256').update(origin).update(rawDigest).digest('hex');
}
