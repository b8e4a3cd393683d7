import { configError } from '../errors.js';

/**
 * Sharding by index range: shard i of n (1-based, as `--shard 2/4`) takes records
 * [⌊(i−1)·N/n⌋, ⌊i·N/n⌋) of the N records, so the n shards are contiguous, cover every record once
 * and differ in size by at most one. Shards can run on different machines; their per-sequence
 * files share one directory and stacked outputs are joined by `mergeStacks`.
 */
export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

/** Parses `i/n` with 1 ≤ i ≤ n. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || !Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index < 1 || index > count) {
    throw configError(`--shard must be i/n with 1 <= i <= n (e.g. 2/4 for the second of four), got '${text}'`);
  }
  return { index, count };
}

/** The record range [start, end) of a shard among `total` records. */
export function shardRange(total: number, shard: Shard | null): { start: number; end: number } {
  if (shard === null) return { start: 0, end: total };
  return { start: Math.floor(((shard.index - 1) * total) / shard.count), end: Math.floor((shard.index * total) / shard.count) };
}
