import { configError, shapeError } from '../errors.js';
import type { Svd } from '../linalg/jacobi-svd.js';
import { Rng } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

/**
 * A rank-r factorisation of a dense layer, W ≈ B·A:
 *   A (r, in) without bias, then B (out, r) with bias:  y = (x·Aᵀ)·Bᵀ + b.
 * Parameters: r·(in + out) + out instead of out·in + out.
 */
export interface LowRankFactors {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly rank: number;
  /** (r, in), row-major. */
  readonly a: Float32Array;
  /** (out, r), row-major. */
  readonly b: Float32Array;
  /** (out). */
  readonly bias: Float32Array;
}

/** Checks the buffer sizes of low-rank factors. */
export function lowRankFactors(inFeatures: number, outFeatures: number, rank: number, a: Float32Array, b: Float32Array, bias: Float32Array): LowRankFactors {
  if (a.length !== rank * inFeatures) throw shapeError('lowRankFactors', `A has ${a.length} values, expected ${rank} x ${inFeatures}`);
  if (b.length !== outFeatures * rank) throw shapeError('lowRankFactors', `B has ${b.length} values, expected ${outFeatures} x ${rank}`);
  if (bias.length !== outFeatures) throw shapeError('lowRankFactors', `bias has ${bias.length} values, expected ${outFeatures}`);
  return { inFeatures, outFeatures, rank, a, b, bias };
}

/** Parameter count of a factorisation. */
export function lowRankParameters(f: LowRankFactors): number {
  return f.a.length + f.b.length + f.bias.length;
}

/** Checks 1 ≤ rank < min(in, out): at full rank a factorisation saves nothing and is not low rank. */
export function checkRank(rank: number, inFeatures: number, outFeatures: number, what = 'rank'): void {
  const limit = Math.min(inFeatures, outFeatures);
  if (!Number.isInteger(rank) || rank < 1 || rank >= limit) {
    throw configError(`${what} ${rank} must be an integer with 1 <= rank < min(d_in, d_out) = ${limit} (layer ${outFeatures} x ${inFeatures})`);
  }
}

/** Whether rank r stores fewer weights than the dense (out, in) matrix: r·(in + out) < in·out. */
export function rankSavesParameters(rank: number, inFeatures: number, outFeatures: number): boolean {
  return rank * (inFeatures + outFeatures) < inFeatures * outFeatures;
}

/** Options of a LowRankLinear. */
export interface LowRankLinearOptions {
  readonly rng?: Rng;
  /**
   * Accept rank = min(in, out) (an exact refactorisation that saves nothing): for checks that a
   * full-rank factorisation reproduces the dense layer. Off by default.
   */
  readonly allowFullRank?: boolean;
}

/**
 * The low-rank layer as a module: `a` is Linear(in, r, bias=false) and `b` is Linear(r, out), so
 * the parameters are named `a.weight` (r, in), `b.weight` (out, r) and `b.bias` (out).
 */
export class LowRankLinear extends Module {
  readonly a: Linear;
  readonly b: Linear;

  constructor(readonly inFeatures: number, readonly outFeatures: number, readonly rank: number, opts: Rng | LowRankLinearOptions = {}) {
    super();
    const o: LowRankLinearOptions = opts instanceof Rng ? { rng: opts } : opts;
    const limit = Math.min(inFeatures, outFeatures);
    if (o.allowFullRank !== true) checkRank(rank, inFeatures, outFeatures);
    else if (!Number.isInteger(rank) || rank < 1 || rank > limit) throw configError(`rank ${rank} must be an integer with 1 <= rank <= min(d_in, d_out) = ${limit} (layer ${outFeatures} x ${inFeatures})`);
    const rng = o.rng ?? new Rng(0);
    this.a = new Linear(inFeatures, rank, { bias: false, rng });
    this.b = new Linear(rank, outFeatures, { rng });
  }

  /** A module holding copies of the given factors. */
  static fromFactors(f: LowRankFactors, opts: Omit<LowRankLinearOptions, 'rng'> = {}): LowRankLinear {
    const m = new LowRankLinear(f.inFeatures, f.outFeatures, f.rank, opts);
    m.a.weight.assign(f.a.slice());
    m.b.weight.assign(f.b.slice());
    (m.b.bias as NonNullable<Linear['bias']>).assign(f.bias.slice());
    return m;
  }

  /** (…, in) -> (…, out) */
  forward(x: Tensor): Tensor {
    const h = x.matmul(this.a.weight.mT); // (…, in) @ (in, r) -> (…, r)
    return h.matmul(this.b.weight.mT).add(this.b.bias as Tensor); // (…, r) @ (r, out) -> (…, out)
  }

  /** The current parameter values as factors (copies). */
  factors(): LowRankFactors {
    const data = (t: Tensor): Float32Array => (t.node.realized as Float32Array).slice();
    return lowRankFactors(this.inFeatures, this.outFeatures, this.rank, data(this.a.weight), data(this.b.weight), data(this.b.bias as Tensor));
  }
}

/** A projection inside a model: dense, or factored by a compression pass. */
export type Projection = Linear | LowRankLinear;

/**
 * Splits a truncated SVD W ≈ U·S·Vᵀ into factors with the singular values shared evenly,
 * A = √S·Vᵀ and B = U·√S (so both factors are equally scaled for training), keeping `bias`.
 * Only the first `rank` triplets are used.
 */
export function svdFactors(svd: Svd, rank: number, bias: Float32Array): LowRankFactors {
  const out = svd.u.rows;
  const inn = svd.v.rows;
  if (rank > svd.s.length) throw configError(`svdFactors: rank ${rank} exceeds the ${svd.s.length} computed singular triplets`);
  const a = new Float32Array(rank * inn);
  const b = new Float32Array(out * rank);
  for (let j = 0; j < rank; j++) {
    const root = Math.sqrt(svd.s[j] as number);
    for (let i = 0; i < inn; i++) a[j * inn + i] = root * (svd.v.data[i * svd.v.cols + j] as number);
    for (let i = 0; i < out; i++) b[i * rank + j] = root * (svd.u.data[i * svd.u.cols + j] as number);
  }
  return lowRankFactors(inn, out, rank, a, b, bias.slice());
}
