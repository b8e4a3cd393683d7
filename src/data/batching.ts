/**
 * Length-sorted batching as fair-esm's `FastaBatchedDataset.get_batch_indices` (`esm/data.py`), token
 * batches built on top of it, and bucketed padding.
 *
 * Buckets: the engine compiles one ONNX graph per input shape, so a batch padded to its exact length T
 * would compile a new graph for almost every batch. `bucketLength` rounds T up to one of a few sizes
 * (powers of two, or multiples of a step) so a whole run reuses a handful of graphs. The extra columns
 * are `<pad>`, which every ESM model masks out, so results are unchanged; the cost is at most a 2x
 * longer T with power-of-two buckets, or `step - 1` columns with multiples.
 */
import { configError, shapeError } from '../errors.js';
import { allocData, hostArray, type HostArray } from '../tensor/host-array.js';
import { SPECIAL_IDS } from './alphabet.js';
import { batchConvert, type SequenceRecord, type TokenBatch, type TokenDType, type UnknownPolicy } from './tokenizer.js';

/**
 * Groups sequence indices into batches of at most `toksPerBatch` padded tokens, exactly as fair-esm:
 * sort by (length, index); each size is `length + extraToksPerSeq`; before adding a sequence, close the
 * current batch if `max(size, currentMax) * (count + 1) > toksPerBatch`. A sequence over the budget on
 * its own still gets a batch of one. extract.py passes 4096 and 1.
 */
export function getBatchIndices(lengths: readonly number[], toksPerBatch: number, extraToksPerSeq = 0): number[][] {
  if (!(toksPerBatch > 0)) throw configError(`getBatchIndices: toksPerBatch must be positive, got ${toksPerBatch}`);
  if (!Number.isInteger(extraToksPerSeq) || extraToksPerSeq < 0) {
    throw configError(`getBatchIndices: extraToksPerSeq must be a non-negative integer, got ${extraToksPerSeq}`);
  }
  const order = lengths.map((_, i) => i);
  order.sort((a, b) => (lengths[a] as number) - (lengths[b] as number) || a - b);
  const batches: number[][] = [];
  let buf: number[] = [];
  let maxLen = 0;
  for (const i of order) {
    const size = (lengths[i] as number) + extraToksPerSeq;
    if (Math.max(size, maxLen) * (buf.length + 1) > toksPerBatch && buf.length > 0) {
      batches.push(buf);
      buf = [];
      maxLen = 0;
    }
    maxLen = Math.max(maxLen, size);
    buf.push(i);
  }
  if (buf.length > 0) batches.push(buf);
  return batches;
}

/** Powers of two from 8 to 1024: the default buckets (ESM-1b's 1024-token limit is the last). */
export const POWER_OF_TWO_BUCKETS: readonly number[] = Object.freeze([8, 16, 32, 64, 128, 256, 512, 1024]);

/** Buckets `step, 2*step, ...` up to `max` (e.g. `multiplesOf(32, 1024)`). */
export function multiplesOf(step: number, max: number): number[] {
  if (!Number.isInteger(step) || step <= 0 || !Number.isInteger(max) || max < step) {
    throw configError(`multiplesOf: need integers 0 < step <= max, got step ${step}, max ${max}`);
  }
  const out: number[] = [];
  for (let b = step; b <= max; b += step) out.push(b);
  return out;
}

/**
 * Smallest bucket >= T. Lengths above the largest bucket are returned unchanged (such rare long batches
 * get their own graph rather than failing). `buckets` must be ascending positive integers.
 */
export function bucketLength(T: number, buckets: readonly number[] = POWER_OF_TWO_BUCKETS): number {
  if (!Number.isInteger(T) || T < 0) throw configError(`bucketLength: T must be a non-negative integer, got ${T}`);
  let prev = 0;
  for (const b of buckets) {
    if (!Number.isInteger(b) || b <= prev) {
      throw configError(`bucketLength: buckets must be ascending positive integers, got [${buckets.join(', ')}]`);
    }
    prev = b;
  }
  for (const b of buckets) if (b >= T) return b;
  return T;
}

/** Options of {@link tokenBatches}. */
export interface TokenBatchesOptions<D extends TokenDType = 'int64'> {
  /** Padded-token budget per batch (extract.py: 4096). */
  toksPerBatch: number;
  /** Added to each length when packing (extract.py: 1). Default 0. */
  extraToksPerSeq?: number;
  /** Per-sequence id limit before BOS/EOS (extract.py: 1022). */
  truncationSeqLength?: number;
  /** Pad T up to a bucket (see {@link bucketLength}); without it T is the batch's own maximum. */
  buckets?: readonly number[];
  unknown?: UnknownPolicy;
  dtype?: D;
}

/** A token batch plus the positions of its rows in the input list. */
export interface IndexedTokenBatch<D extends TokenDType = 'int64'> extends TokenBatch<D> {
  readonly indices: number[];
}

/**
 * Yields the token batches extract.py would run: batches from {@link getBatchIndices} over the raw
 * string lengths (fair-esm sizes by `len(sequence_str)`, so a literal `<mask>` counts 6), each built by
 * `batchConvert` with truncation and, if asked, padded to a bucket length.
 */
export function* tokenBatches<D extends TokenDType = 'int64'>(
  records: readonly (string | SequenceRecord)[],
  options: TokenBatchesOptions<D>,
): Generator<IndexedTokenBatch<D>, void, undefined> {
  const recs = records.map((r, i) => (typeof r === 'string' ? { label: `#${i}`, sequence: r } : r));
  const batches = getBatchIndices(
    recs.map((r) => r.sequence.length),
    options.toksPerBatch,
    options.extraToksPerSeq ?? 0,
  );
  for (const indices of batches) {
    const rows = indices.map((i) => recs[i] as SequenceRecord);
    const plain = batchConvert<D>(rows, convertOptions(options));
    if (options.buckets === undefined) {
      yield { ...plain, indices };
      continue;
    }
    const T = plain.tokens.shape[1] as number;
    yield { ...plain, tokens: padTokens(plain.tokens, bucketLength(T, options.buckets)), indices };
  }
}

/** Widens a (B, T) token matrix to (B, width) by appending `<pad>` columns on the right. */
export function padTokens<D extends TokenDType>(tokens: HostArray<D>, width: number): HostArray<D> {
  if (tokens.shape.length !== 2) throw shapeError('padTokens', `expected a (B, T) matrix, got [${tokens.shape.join(', ')}]`);
  const [B, T] = tokens.shape as [number, number];
  if (!Number.isInteger(width) || width < T) throw shapeError('padTokens', `width ${width} is smaller than T = ${T}`);
  if (width === T) return tokens;
  const data = allocData(tokens.dtype, B * width);
  if (data instanceof BigInt64Array) data.fill(BigInt(SPECIAL_IDS.pad));
  else (data as Int32Array).fill(SPECIAL_IDS.pad);
  // Both arrays have the same element type (int32 or int64); the casts only unify the two cases.
  for (let b = 0; b < B; b++) {
    // (B, T) row b -> (B, width) row b
    (data as Int32Array).set((tokens.data as Int32Array).subarray(b * T, (b + 1) * T), b * width);
  }
  return hostArray(tokens.dtype, [B, width], data);
}

function convertOptions<D extends TokenDType>(options: TokenBatchesOptions<D>): { truncationSeqLength?: number; unknown?: UnknownPolicy; dtype?: D } {
  const out: { truncationSeqLength?: number; unknown?: UnknownPolicy; dtype?: D } = {};
  if (options.truncationSeqLength !== undefined) out.truncationSeqLength = options.truncationSeqLength;
  if (options.unknown !== undefined) out.unknown = options.unknown;
  if (options.dtype !== undefined) out.dtype = options.dtype;
  return out;
}
