import { getBatchIndices } from '../data/batching.js';
import { mixSeed } from '../data/mlm-stream.js';
import { SPECIAL_IDS, STANDARD_AMINO_ACID_IDS } from '../data/alphabet.js';
import type { SequenceSet } from '../data/sequence-set.js';
import { configError, runtimeError, shapeError } from '../errors.js';
import { EsmForwardSession } from '../extract/forward-session.js';
import type { EsmModel } from '../models/esm/model.js';
import { hostArray, type HostArray } from '../tensor/host-array.js';
import { Rng } from '../tensor/random.js';

/**
 * Masked-LM perplexity on a fixed set of scored positions, shared by `protdistil eval perplexity`
 * and `train`'s validation.
 *
 * Scored positions: for each sequence (truncated to `truncation` residues, as extract does) and
 * each of K mask draws, every standard residue (the 20 amino acids; never BOS/EOS/pad, never X or
 * other rare letters, which the n-gram floors do not predict either) is scored with probability
 * `maskProb`. For every scored position a BERT replacement (80 % `<mask>`, 10 % random residue,
 * 10 % unchanged) is drawn whatever the rule, so both rules score the same positions. The draws come
 * from a generator seeded by (seed, draw, sequence index) only: the same positions for every model.
 *
 * Rules: `pure` replaces every scored position by `<mask>` — the model never sees what it predicts,
 * as the n-gram floors never do; only this figure may be set against the floors. `bert` applies the
 * drawn 80/10/10 replacement — the training corruption; the 10 % left unchanged carry their answer
 * in the input, so it rewards copying and reads lower.
 *
 * Perplexity = exp(mean over scored positions of −log softmax(logits)[true residue]), the softmax
 * over the model's whole vocabulary (as its training loss); accuracy = top-1 over the vocabulary.
 *
 * Dims: B batch, T tokens, V vocab.
 */

/** How scored positions are presented to the model. */
export type MaskRule = 'pure' | 'bert';
export const MASK_RULES: readonly MaskRule[] = ['pure', 'bert'];

/** Replacement codes of a scored position (other values are random residue ids). */
const KEEP = -1;

/** One sequence with its scored positions under one mask draw. */
export interface ScoredSequence {
  /** Sequence index in the set. */
  readonly index: number;
  /** Mask draw (0 … K−1). */
  readonly draw: number;
  /** Residue ids after truncation. */
  readonly ids: Uint8Array;
  /** Scored residue positions (0-based, in the residue string). */
  readonly positions: Int32Array;
  /** Per scored position: `<mask>` id, a random residue id, or −1 (unchanged) under `bert`. */
  readonly replacement: Int32Array;
}

/** Options of {@link scoredPositions}. */
export interface ScoringOptions {
  readonly seed: number;
  /** Fraction of standard residues scored (0.15). */
  readonly maskProb?: number;
  /** Independent mask draws per sequence (1). */
  readonly masks?: number;
  /** Residues kept per sequence (1022, extract's default). */
  readonly truncation?: number;
}

const STANDARD = new Set(STANDARD_AMINO_ACID_IDS);
/** Seed kind of evaluation draws (training streams use other kinds). */
const KIND_EVAL = 3;

/** The scored positions of a set (deterministic in the seed). */
export function scoredPositions(set: SequenceSet, o: ScoringOptions): ScoredSequence[] {
  const maskProb = o.maskProb ?? 0.15;
  const masks = o.masks ?? 1;
  const truncation = o.truncation ?? 1022;
  if (!(maskProb > 0 && maskProb <= 1)) throw configError(`mask probability must lie in (0, 1], got ${maskProb}`);
  if (!(Number.isInteger(masks) && masks >= 1)) throw configError(`masks must be a positive integer, got ${masks}`);
  if (!(Number.isInteger(truncation) && truncation >= 1)) throw configError(`truncation must be a positive integer, got ${truncation}`);
  const out: ScoredSequence[] = [];
  for (let k = 0; k < masks; k++) {
    set.ids.forEach((all, i) => {
      const ids = all.length > truncation ? all.subarray(0, truncation) : all;
      const rng = new Rng(mixSeed(o.seed, KIND_EVAL, k, i));
      const pos: number[] = [];
      const rep: number[] = [];
      for (let p = 0; p < ids.length; p++) {
        if (!STANDARD.has(ids[p] as number)) continue;
        if (rng.float() >= maskProb) continue;
        const u = rng.float();
        const random = STANDARD_AMINO_ACID_IDS[rng.int(STANDARD_AMINO_ACID_IDS.length)] as number;
        pos.push(p);
        rep.push(u < 0.8 ? SPECIAL_IDS.mask : u < 0.9 ? random : KEEP);
      }
      out.push({ index: i, draw: k, ids, positions: Int32Array.from(pos), replacement: Int32Array.from(rep) });
    });
  }
  return out;
}

/** The model input of a scored sequence under a rule: BOS + corrupted residues + EOS. */
export function corruptedRow(s: ScoredSequence, rule: MaskRule): Int32Array {
  const row = new Int32Array(s.ids.length + 2);
  row[0] = SPECIAL_IDS.cls;
  row.set(s.ids, 1);
  row[s.ids.length + 1] = SPECIAL_IDS.eos;
  s.positions.forEach((p, j) => {
    const r = s.replacement[j] as number;
    if (rule === 'pure') row[p + 1] = SPECIAL_IDS.mask;
    else if (r !== KEEP) row[p + 1] = r;
  });
  return row;
}

/** Logits of a (B, T) int64 token matrix: (B, T, V) float32. */
export type LogitsFn = (tokens: HostArray<'int64'>) => Promise<HostArray>;

/** Result of an evaluation. */
export interface PerplexityResult {
  readonly rule: MaskRule;
  readonly perplexity: number;
  /** Top-1 accuracy over the vocabulary at scored positions. */
  readonly accuracy: number;
  /** Mean negative log-likelihood (nats). */
  readonly meanNll: number;
  /** Number of scored positions. */
  readonly scored: number;
  readonly sequences: number;
}

/** Options of {@link maskedPerplexity}. */
export interface PerplexityOptions {
  /** Padded tokens per forward batch (4096). */
  readonly toksPerBatch?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Perplexity and accuracy of a model (given by its logits function) on scored positions. */
export async function maskedPerplexity(logitsOf: LogitsFn, scored: readonly ScoredSequence[], rule: MaskRule, o: PerplexityOptions = {}): Promise<PerplexityResult> {
  const batches = getBatchIndices(scored.map((s) => s.ids.length + 2), o.toksPerBatch ?? 4096);
  let nll = 0;
  let correct = 0;
  let count = 0;
  let done = 0;
  for (const idx of batches) {
    const rows = idx.map((i) => scored[i] as ScoredSequence).filter((s) => s.positions.length > 0);
    done += idx.length;
    if (rows.length === 0) continue;
    const T = Math.max(...rows.map((s) => s.ids.length + 2));
    const tokens = new BigInt64Array(rows.length * T).fill(BigInt(SPECIAL_IDS.pad));
    rows.forEach((s, b) => corruptedRow(s, rule).forEach((id, t) => (tokens[b * T + t] = BigInt(id))));
    const logits = await logitsOf(hostArray('int64', [rows.length, T], tokens));
    if (logits.shape.length !== 3 || logits.shape[0] !== rows.length || logits.shape[1] !== T) {
      throw shapeError('maskedPerplexity', `logits must be (${rows.length}, ${T}, V), got [${logits.shape.join(', ')}]`);
    }
    const V = logits.shape[2] as number;
    const z = logits.data as Float32Array;
    rows.forEach((s, b) => {
      s.positions.forEach((p) => {
        const o0 = (b * T + p + 1) * V;
        let max = -Infinity;
        let arg = 0;
        for (let v = 0; v < V; v++) {
          const x = z[o0 + v] as number;
          if (x > max) {
            max = x;
            arg = v;
          }
        }
        let sum = 0;
        for (let v = 0; v < V; v++) sum += Math.exp((z[o0 + v] as number) - max);
        const truth = s.ids[p] as number;
        nll += max + Math.log(sum) - (z[o0 + truth] as number);
        if (arg === truth) correct++;
        count++;
      });
    });
    o.onProgress?.(done, scored.length);
  }
  if (count === 0) throw runtimeError('masked perplexity: no position was scored (sequences too short or too few)');
  if (!Number.isFinite(nll)) throw runtimeError(`masked perplexity: the model produced non-finite logits (${rule} rule)`);
  return { rule, perplexity: Math.exp(nll / count), accuracy: correct / count, meanNll: nll / count, scored: count, sequences: new Set(scored.map((s) => s.index)).size };
}

/** A logits function over a model's current weights (one ONNX Runtime session for every shape). */
export async function modelLogits(model: EsmModel, maxTokens = 1024): Promise<LogitsFn> {
  const session = await EsmForwardSession.create(model, { reprLayers: [], logits: true, contacts: false }, { maxTokens });
  return async (tokens) => {
    const r = await session.run(tokens);
    if (r.logits === null) throw runtimeError('forward session returned no logits');
    return r.logits;
  };
}
