import type { SequenceSet } from '../data/sequence-set.js';
import { maskedPerplexity, modelLogits, scoredPositions, type PerplexityResult } from '../eval/perplexity.js';
import { runtimeError } from '../errors.js';
import { EsmForwardSession } from '../extract/forward-session.js';
import { hfStateDict } from '../io/esm/hf-writer.js';
import { safetensorsLayout } from '../io/safetensors.js';
import type { EsmModel } from '../models/esm/model.js';
import { meanOverResidues } from '../models/esm/pooling.js';
import { median } from '../rank/metrics.js';
import { hostArray, type HostArray } from '../tensor/host-array.js';
import { Rng } from '../tensor/random.js';
import type { TokenSet } from './calibration-set.js';

/**
 * Whole-model measurements of a compression, original against compressed: agreement of the final
 * representations, masked perplexity (the shared eval/perplexity.ts), forward throughput at fixed
 * batch shapes, and the size of the saved weights.
 *
 * Dims: B batch, T tokens, E embed.
 */

/** Mean cosines between the two models' final-layer representations (float64 sums). */
export interface Agreement {
  /** Over every non-pad token (BOS and EOS included). */
  readonly tokenCosine: number;
  /** Over sequences, of the mean over residues (extract's `mean` representation). */
  readonly meanCosine: number;
  readonly tokens: number;
  readonly sequences: number;
}

/** Representation agreement of two models on a token set. */
export async function representationAgreement(original: EsmModel, compressed: EsmModel, set: TokenSet): Promise<Agreement> {
  const L = original.config.numLayers;
  const spec = { reprLayers: [L], logits: false, contacts: false };
  const a = await EsmForwardSession.create(original, spec, { maxTokens: Math.max(set.maxLength, 2) });
  const b = await EsmForwardSession.create(compressed, spec, { maxTokens: Math.max(set.maxLength, 2) });
  let tokSum = 0;
  let tokens = 0;
  let meanSum = 0;
  let sequences = 0;
  for (const batch of set.batches) {
    const ra = (await a.run(batch.tokens)).representations.get(L) as HostArray;
    const rb = (await b.run(batch.tokens)).representations.get(L) as HostArray;
    const [B, T, E] = ra.shape as [number, number, number];
    const da = ra.data as Float32Array;
    const db = rb.data as Float32Array;
    for (let r = 0; r < B; r++) {
      const n = batch.lengths[r] as number;
      for (let t = 0; t < n; t++) {
        const o = (r * T + t) * E;
        tokSum += cosine(da.subarray(o, o + E), db.subarray(o, o + E));
        tokens++;
      }
      meanSum += cosine(meanOverResidues(ra, r, n - 2), meanOverResidues(rb, r, n - 2));
      sequences++;
    }
  }
  return { tokenCosine: tokSum / tokens, meanCosine: meanSum / sequences, tokens, sequences };
}

function cosine(x: Float32Array, y: Float32Array): number {
  let dot = 0;
  let xx = 0;
  let yy = 0;
  for (let i = 0; i < x.length; i++) {
    const a = x[i] as number;
    const b = y[i] as number;
    dot += a * b;
    xx += a * a;
    yy += b * b;
  }
  return dot / Math.sqrt(Math.max(xx * yy, 1e-16));
}

/** Pure-masking perplexity of both models on the same scored positions. */
export async function perplexityPair(original: EsmModel, compressed: EsmModel, set: SequenceSet, o: { seed: number; truncation: number }): Promise<{ before: PerplexityResult; after: PerplexityResult }> {
  const scored = scoredPositions(set, { seed: o.seed, truncation: o.truncation });
  const before = await maskedPerplexity(await modelLogits(original, o.truncation + 2), scored, 'pure');
  const after = await maskedPerplexity(await modelLogits(compressed, o.truncation + 2), scored, 'pure');
  return { before, after };
}

/** Forward throughput at one batch shape. */
export interface Throughput {
  readonly batch: number;
  readonly length: number;
  readonly beforeTokensPerSecond: number;
  readonly afterTokensPerSecond: number;
  readonly speedup: number;
}

/**
 * Tokens per second of a full forward pass (logits) at a (B, T) shape, median of `repeats` timed
 * runs after one warm-up, the two models interleaved run by run so that machine load hits both
 * alike. Tokens are random residues between BOS and EOS (seeded), no padding.
 */
export async function throughput(original: EsmModel, compressed: EsmModel, shapes: readonly (readonly [number, number])[], repeats: number, seed: number): Promise<Throughput[]> {
  const out: Throughput[] = [];
  const maxT = Math.max(...shapes.map(([, t]) => t));
  const spec = { reprLayers: [], logits: true, contacts: false };
  const a = await EsmForwardSession.create(original, spec, { maxTokens: maxT });
  const b = await EsmForwardSession.create(compressed, spec, { maxTokens: maxT });
  const rng = new Rng(seed);
  for (const [B, T] of shapes) {
    if (T < 2) throw runtimeError(`throughput: a row needs at least 2 tokens (BOS, EOS), got ${T}`);
    const data = new BigInt64Array(B * T);
    for (let r = 0; r < B; r++) {
      for (let t = 0; t < T; t++) data[r * T + t] = BigInt(t === 0 ? 0 : t === T - 1 ? 2 : 4 + rng.int(20));
    }
    const tokens = hostArray('int64', [B, T], data);
    await a.run(tokens);
    await b.run(tokens);
    const ta: number[] = [];
    const tb: number[] = [];
    for (let i = 0; i < repeats; i++) {
      let t0 = performance.now();
      await a.run(tokens);
      ta.push(performance.now() - t0);
      t0 = performance.now();
      await b.run(tokens);
      tb.push(performance.now() - t0);
    }
    const before = (B * T) / (median(ta) / 1000);
    const after = (B * T) / (median(tb) / 1000);
    out.push({ batch: B, length: T, beforeTokensPerSecond: before, afterTokensPerSecond: after, speedup: after / before });
  }
  return out;
}

/** Bytes of the model.safetensors protdistil writes for a model (header included), without writing it. */
export function safetensorsSize(model: EsmModel): number {
  const sd = hfStateDict(model);
  const { header } = safetensorsLayout(sd, { format: 'pt' });
  let n = 8 + header.length;
  for (const a of sd.values()) n += a.data.byteLength;
  return n;
}
