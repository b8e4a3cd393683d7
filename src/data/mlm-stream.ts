import { configError } from '../errors.js';
import { hostArray, type HostArray } from '../tensor/host-array.js';
import { Rng } from '../tensor/random.js';
import { SPECIAL_IDS } from './alphabet.js';
import { IGNORE_INDEX, maskTokens } from './masking.js';
import type { SequenceSet } from './sequence-set.js';

/**
 * The masked-LM data stream of a training run: every batch is a pure function of (seed, epoch,
 * batch index), so a resumed run, a live teacher and a teacher-logit cache see the same crops and
 * masks without storing them.
 *
 * - Epoch plan: sequences sorted by cropped length with a seeded random tie-break (so equal lengths
 *   mix differently every epoch), cut into batches from the longest down (`batchSize` rows, or as
 *   many rows as fit `toksPerBatch` padded tokens), then the batch order is shuffled. Batches of
 *   similar lengths waste little padding; each batch is padded to a bucket length (a multiple of
 *   `bucketStep`, capped at crop + 2), so a run compiles only a few step graphs.
 * - Per sequence and epoch: a random crop window (`crop` residues, as ESM training crops long
 *   sequences) and a BERT 80/10/10 mask (data/masking.ts), both drawn from a generator seeded by
 *   (seed, epoch, sequence index) alone; with `maskCycle` K, epoch e reuses the draw of epoch e mod K
 *   (what a teacher-logit cache of K mask draws holds).
 *
 * Dims: B rows, T tokens (BOS + residues + EOS + pad).
 */

/** Options of the stream. */
export interface MlmStreamOptions {
  readonly seed: number;
  /** Residues kept per sequence (a random window of longer ones). */
  readonly crop: number;
  /** Fixed rows per batch; exclusive with `toksPerBatch`. */
  readonly batchSize?: number;
  /** Padded-token budget per batch (rows = budget / padded length). */
  readonly toksPerBatch?: number;
  /** Fraction of residues selected for the loss (0.15). */
  readonly maskProb: number;
  /** Padded lengths are multiples of this (default 32). */
  readonly bucketStep?: number;
  /**
   * Reuse K mask draws cyclically: epoch e crops and masks with draw e mod K (draw d is what epoch d
   * draws without a cycle). A teacher-logit cache of K draws (`protdistil label --masks K`) holds
   * exactly those masks. Default: fresh crops and masks every epoch.
   */
  readonly maskCycle?: number;
}

/** One corrupted sequence of the stream, unpadded: BOS + crop window + EOS. */
export interface MlmRow {
  /** (L) corrupted ids. */
  readonly tokens: BigInt64Array;
  /** (L) true ids at selected positions, -100 elsewhere. */
  readonly targets: BigInt64Array;
  readonly selected: number;
}

/** One training batch. */
export interface MlmBatch {
  readonly epoch: number;
  /** Batch position within the epoch's plan. */
  readonly index: number;
  /** Sequence indices of the rows. */
  readonly rows: readonly number[];
  /** (B, T) corrupted input ids. */
  readonly tokens: HostArray<'int64'>;
  /** (B, T) true ids at selected positions, -100 elsewhere. */
  readonly targets: HostArray<'int64'>;
  /** Number of selected positions. */
  readonly selected: number;
  /** Non-pad tokens. */
  readonly tokenCount: number;
}

/** A 32-bit seed from integer parts (a SplitMix-style mix, so nearby inputs give unrelated seeds). */
export function mixSeed(...parts: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    let z = (h ^ Math.imul((p >>> 0) + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    h = (z ^ (z >>> 15)) >>> 0;
  }
  return h;
}

/** Stream kinds mixed into per-sequence seeds. */
const KIND_ORDER = 1;
const KIND_SEQUENCE = 2;

/** Deterministic crops, masks and batches over a sequence set. */
export class MlmStream {
  private readonly plans = new Map<number, readonly (readonly number[])[]>();
  readonly bucketStep: number;

  constructor(readonly data: SequenceSet, readonly opts: MlmStreamOptions) {
    if (!(Number.isInteger(opts.crop) && opts.crop >= 1)) throw configError(`crop must be a positive integer, got ${opts.crop}`);
    if ((opts.batchSize === undefined) === (opts.toksPerBatch === undefined)) throw configError('give exactly one of batch size and tokens per batch');
    if (opts.batchSize !== undefined && !(Number.isInteger(opts.batchSize) && opts.batchSize >= 1)) throw configError(`batch size must be a positive integer, got ${opts.batchSize}`);
    if (opts.toksPerBatch !== undefined && !(Number.isInteger(opts.toksPerBatch) && opts.toksPerBatch >= opts.crop + 2)) {
      throw configError(`tokens per batch must be an integer >= crop + 2 = ${opts.crop + 2} (one cropped sequence with BOS and EOS), got ${opts.toksPerBatch}`);
    }
    if (!(opts.maskProb > 0 && opts.maskProb < 1)) throw configError(`mask probability must lie in (0, 1), got ${opts.maskProb}`);
    if (opts.maskCycle !== undefined && !(Number.isInteger(opts.maskCycle) && opts.maskCycle >= 1)) throw configError(`mask cycle must be a positive integer, got ${opts.maskCycle}`);
    this.bucketStep = opts.bucketStep ?? 32;
  }

  /** Longest padded row: crop + BOS + EOS. */
  get maxTokens(): number {
    return this.opts.crop + 2;
  }

  /** Padded length of a batch whose longest row has `t` tokens. */
  bucket(t: number): number {
    return Math.min(this.maxTokens, Math.ceil(t / this.bucketStep) * this.bucketStep);
  }

  /** The batches (sequence indices) of an epoch, in training order. */
  plan(epoch: number): readonly (readonly number[])[] {
    let p = this.plans.get(epoch);
    if (p !== undefined) return p;
    const rng = new Rng(mixSeed(this.opts.seed, KIND_ORDER, epoch));
    const n = this.data.ids.length;
    const len = this.data.ids.map((ids) => Math.min(ids.length, this.opts.crop));
    const tie = Array.from({ length: n }, () => rng.nextUint32());
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (len[b] as number) - (len[a] as number) || (tie[a] as number) - (tie[b] as number));
    const batches: number[][] = [];
    for (let at = 0; at < n; ) {
      const T = this.bucket((len[order[at] as number] as number) + 2);
      const rows = this.opts.batchSize ?? Math.max(1, Math.floor((this.opts.toksPerBatch as number) / T));
      batches.push(order.slice(at, at + rows));
      at += rows;
    }
    p = rng.shuffle(batches);
    this.plans.clear(); // one epoch at a time is enough
    this.plans.set(epoch, p);
    return p;
  }

  /** Number of batches per epoch. */
  batchesPerEpoch(): number {
    return this.plan(0).length;
  }

  /** Builds batch `index` of `epoch`. */
  batch(epoch: number, index: number): MlmBatch {
    const rows = this.plan(epoch)[index];
    if (rows === undefined) throw configError(`epoch ${epoch} has no batch ${index}`);
    const draw = this.maskDraw(epoch);
    const made = rows.map((i) => this.row(draw, i));
    const T = this.bucket(Math.max(...made.map((m) => m.tokens.length)));
    return padRows(made, rows, T, epoch, index);
  }

  /** The mask draw an epoch uses: the epoch itself, or epoch mod K with a mask cycle of K. */
  maskDraw(epoch: number): number {
    return this.opts.maskCycle === undefined ? epoch : epoch % this.opts.maskCycle;
  }

  /** Sequence `i` cropped and corrupted as mask draw `draw` (= the epoch without a mask cycle) makes it. */
  row(draw: number, i: number): MlmRow {
    if (this.data.ids[i] === undefined) throw configError(`the stream has no sequence ${i} (it holds ${this.data.ids.length})`);
    const v = this.cropped(draw, i);
    return this.corrupt(v.ids, v.rng);
  }

  /** Tokens of sequence `i` as a row (BOS + cropped residues + EOS); the same for every draw. */
  rowLength(i: number): number {
    return Math.min((this.data.ids[i] as Uint8Array).length, this.opts.crop) + 2;
  }

  /** The crop window of sequence `i` in `epoch`, and the generator positioned for its mask draws. */
  private cropped(epoch: number, i: number): { ids: Uint8Array; rng: Rng } {
    const ids = this.data.ids[i] as Uint8Array;
    const rng = new Rng(mixSeed(this.opts.seed, KIND_SEQUENCE, epoch, i));
    const extra = ids.length - this.opts.crop;
    const start = extra > 0 ? rng.int(extra + 1) : 0;
    return { ids: extra > 0 ? ids.subarray(start, start + this.opts.crop) : ids, rng };
  }

  /** BOS + ids + EOS, corrupted with the 80/10/10 rule. */
  private corrupt(ids: Uint8Array, rng: Rng): MlmRow {
    const row = new BigInt64Array(ids.length + 2);
    row[0] = BigInt(SPECIAL_IDS.cls);
    for (let j = 0; j < ids.length; j++) row[j + 1] = BigInt(ids[j] as number);
    row[ids.length + 1] = BigInt(SPECIAL_IDS.eos);
    const m = maskTokens(hostArray('int64', [1, row.length], row), rng, { selectProb: this.opts.maskProb });
    return { tokens: m.tokens.data as BigInt64Array, targets: m.targets.data as BigInt64Array, selected: m.selected };
  }
}

/** Rows (BOS + corrupted residues + EOS, with targets) padded to one (B, T) batch with `<pad>` and the ignore index. */
export function padRows(made: readonly { tokens: BigInt64Array; targets: BigInt64Array; selected: number }[], rows: readonly number[], T: number, epoch: number, index: number): MlmBatch {
  const B = made.length;
  const tokens = new BigInt64Array(B * T).fill(BigInt(SPECIAL_IDS.pad));
  const targets = new BigInt64Array(B * T).fill(BigInt(IGNORE_INDEX));
  let selected = 0;
  let tokenCount = 0;
  made.forEach((m, b) => {
    tokens.set(m.tokens, b * T); // row b of (B, T)
    targets.set(m.targets, b * T);
    selected += m.selected;
    tokenCount += m.tokens.length;
  });
  return { epoch, index, rows, tokens: hostArray('int64', [B, T], tokens), targets: hostArray('int64', [B, T], targets), selected, tokenCount };
}
