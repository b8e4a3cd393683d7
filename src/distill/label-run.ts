import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { IGNORE_INDEX } from '../data/masking.js';
import { MlmStream, padRows } from '../data/mlm-stream.js';
import { fileSha256, loadSequenceSet } from '../data/sequence-set.js';
import { configError, dataError, isProtdistilError } from '../errors.js';
import { shardRange, type Shard } from '../extract/shard.js';
import { cacheKey, identityDiff, MASK_RULE, type CacheDType, type CacheIdentity } from './cache-identity.js';
import { listShardFiles, MANIFEST_FILE, mergeShards, type CacheManifest } from './cache-manifest.js';
import { shardFileName, ShardReader, ShardWriter, type ShardFooter } from './cache-shard.js';
import type { TeacherSource } from './teacher.js';

/**
 * `protdistil label`: runs a teacher over K deterministic mask draws of every sequence in one shard
 * (an index range) of a FASTA and stores its exact logits at the masked positions. Draw d of
 * sequence i is the crop and mask `MlmStream` gives sequence i in epoch d (same seed, crop and mask
 * probability), so `train --teacher-cache` with draw = epoch mod K sees exactly these masks.
 *
 * Rows of similar length are batched together (padded to the stream's 32-token buckets) for the
 * teacher; batches never mix draws. Shards are independent: n machines run `--shard i/n` into one
 * directory (or copy their files there) and `label-merge` joins them.
 *
 * Dims: B rows, T padded tokens, V vocab, m masked positions of a row.
 */

/** Options of {@link labelShard}. */
export interface LabelOptions {
  /** Mask draws per sequence (K). */
  readonly masks: number;
  readonly seed: number;
  readonly crop: number;
  readonly maskProb: number;
  readonly shard: Shard | null;
  /** Padded tokens per teacher batch. */
  readonly toksPerBatch: number;
  readonly dtype: CacheDType;
  readonly unknownAsUnk: boolean;
  /** Longest row (BOS + residues + EOS) the teacher accepts. */
  readonly teacherMaxTokens: number;
}

/** Progress of a labelling run. */
export interface LabelProgress {
  readonly tokens: number;
  readonly totalTokens: number;
  readonly elapsedMs: number;
}

/** What a labelling run did. */
export interface LabelResult {
  readonly path: string;
  /** The shard was already there with this key: nothing was computed. */
  readonly skipped: boolean;
  readonly footer: ShardFooter;
  readonly sequences: number;
  readonly elapsedMs: number;
  readonly teacherMs: number;
  /** The manifest, when this run completed the cache (unsharded, or a 1/1 shard). */
  readonly manifest: CacheManifest | null;
}

/** Labels one shard of `fasta` with `teacher` into the cache directory `out`. */
export async function labelShard(teacher: TeacherSource, fasta: string, out: string, o: LabelOptions, onProgress?: (p: LabelProgress) => void): Promise<LabelResult> {
  if (!(Number.isInteger(o.masks) && o.masks >= 1)) throw configError(`--masks must be a positive integer, got ${o.masks}`);
  if (o.crop + 2 > o.teacherMaxTokens) throw configError(`--crop ${o.crop} does not fit the teacher: crop + BOS + EOS must be at most its ${o.teacherMaxTokens} positions (use --crop ${o.teacherMaxTokens - 2} or less)`);
  if (o.toksPerBatch < o.crop + 2) throw configError(`--toks-per-batch ${o.toksPerBatch} must hold one cropped row: at least crop + 2 = ${o.crop + 2}`);
  const set = await loadSequenceSet(fasta, { unknown: o.unknownAsUnk ? 'unk' : 'error' });
  const identity: CacheIdentity = {
    teacher: teacher.fingerprint,
    fasta: await fileSha256(fasta),
    sequences: set.ids.length,
    unknownAsUnk: o.unknownAsUnk,
    seed: o.seed,
    crop: o.crop,
    maskProb: o.maskProb,
    maskRule: MASK_RULE,
    masks: o.masks,
    vocab: teacher.vocabSize,
    dtype: o.dtype,
  };
  const shard = o.shard ?? { index: 1, count: 1 };
  const { start, end } = shardRange(set.ids.length, shard);
  const path = join(out, shardFileName(shard.index, shard.count));
  const existing = checkOutDir(out, path, identity, shard);
  if (existing !== null) {
    const manifest = o.shard === null ? mergeShards(out).manifest : null;
    return { path, skipped: true, footer: existing, sequences: end - start, elapsedMs: 0, teacherMs: 0, manifest };
  }

  const stream = new MlmStream(set, { seed: o.seed, crop: o.crop, maskProb: o.maskProb, batchSize: 1 });
  // Longest rows first, so each batch pads little; row lengths do not depend on the draw.
  const order = Array.from({ length: end - start }, (_, k) => start + k).sort((a, b) => stream.rowLength(b) - stream.rowLength(a) || a - b);
  const perDraw = order.reduce((n, i) => n + stream.rowLength(i), 0);
  const totalTokens = perDraw * o.masks;
  const V = teacher.vocabSize;
  const writer = ShardWriter.create(path, identity, { index: shard.index, count: shard.count, start, end });
  const t0 = performance.now();
  const busy0 = teacher.busyMs;
  let done = 0;
  try {
    for (let d = 0; d < o.masks; d++) {
      for (let at = 0, index = 0; at < order.length; index++) {
        const T = stream.bucket(stream.rowLength(order[at]!));
        const rows = order.slice(at, at + Math.max(1, Math.floor(o.toksPerBatch / T)));
        at += rows.length;
        const batch = padRows(rows.map((i) => stream.row(d, i)), rows, T, d, index);
        const z = (await teacher.logits(batch)).data as Float32Array; // (B, T, V)
        if (z.length !== rows.length * T * V) throw dataError(`the teacher returned ${z.length} logits for a (${rows.length}, ${T}, ${V}) batch`);
        const targets = batch.targets.data as BigInt64Array;
        rows.forEach((i, b) => {
          const positions: number[] = [];
          for (let t = 0; t < T; t++) if (targets[b * T + t] !== BigInt(IGNORE_INDEX)) positions.push(t);
          const logits = new Float32Array(positions.length * V); // (m, V)
          positions.forEach((t, j) => logits.set(z.subarray((b * T + t) * V, (b * T + t + 1) * V), j * V));
          writer.add(i, d, Uint32Array.from(positions), logits, stream.rowLength(i));
        });
        done += batch.tokenCount;
        onProgress?.({ tokens: done, totalTokens, elapsedMs: performance.now() - t0 });
      }
    }
    const elapsedMs = performance.now() - t0;
    const teacherMs = teacher.busyMs - busy0;
    const footer = writer.finish({ teacher: teacher.description, fasta: basename(fasta), labelledAt: new Date().toISOString(), seconds: elapsedMs / 1000, teacherSeconds: teacherMs / 1000, toksPerBatch: o.toksPerBatch });
    const manifest = o.shard === null ? mergeShards(out).manifest : null;
    return { path, skipped: false, footer, sequences: end - start, elapsedMs, teacherMs, manifest };
  } catch (e) {
    writer.abort();
    throw e;
  }
}

/**
 * What is already in the output directory. Returns the footer when this very shard is there with
 * this key (a re-run: nothing to do). Anything of another cache is an error, and nothing is
 * overwritten: a manifest or shard with another key, a shard of another split, an unreadable file
 * where this shard goes.
 */
function checkOutDir(out: string, path: string, identity: CacheIdentity, shard: Shard): ShardFooter | null {
  const key = cacheKey(identity);
  const manifestPath = join(out, MANIFEST_FILE);
  if (existsSync(manifestPath)) {
    let other: { key?: unknown; identity?: CacheIdentity };
    try {
      other = JSON.parse(readFileSync(manifestPath, 'utf8')) as typeof other;
    } catch {
      throw configError(`${manifestPath} exists and is not a teacher-cache manifest; nothing was overwritten (choose another OUT)`);
    }
    if (other.key !== key) throw configError(`${out} already holds a teacher cache made with other settings (${other.identity === undefined ? 'unknown' : identityDiff(other.identity, identity, ['there ', 'now ']).join('; ')}); nothing was overwritten (choose another OUT)`);
  }
  for (const f of listShardFiles(out)) {
    const p = join(out, f);
    let r: ShardReader;
    try {
      r = ShardReader.open(p);
    } catch (e) {
      if (p === path && isProtdistilError(e)) throw dataError(`${path} already exists but is not a complete shard (${e.message}); nothing was overwritten: delete it to label this shard again`);
      continue; // another shard's problem; label-merge reports it
    }
    try {
      const { footer } = r;
      if (footer.key !== key) throw configError(`${p} belongs to another labelling run (${identityDiff(footer.identity, identity, ['there ', 'now ']).join('; ')}); nothing was overwritten (use another OUT for other settings)`);
      if (footer.shard.count !== shard.count) throw configError(`${p} is shard ${footer.shard.index}/${footer.shard.count}; this run labels shard ${shard.index}/${shard.count}: a cache is split one way only`);
      if (footer.shard.index === shard.index) return footer;
    } finally {
      r.close();
    }
  }
  if (existsSync(path)) throw configError(`${path} exists and holds another shard; nothing was overwritten`);
  return null;
}
