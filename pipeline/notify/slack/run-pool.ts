/** Runs `fn` over items with at most `limit` in flight; waits for all, then rethrows the first failure. */
export async function runPool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

/** Items grouped by channel, each group in the given order. */
export function byChannel<T extends { readonly channel: string }>(items: readonly T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(item.channel);
    if (group) group.push(item);
    else groups.set(item.channel, [item]);
  }
  return [...groups.values()];
}

/** One sequential worker per channel (pacing, order), channels in parallel (one slow channel delays no other). */
export const ChannelConcurrency = 16;
