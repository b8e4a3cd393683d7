import { configError, shapeError } from '../errors.js';
import { f32Matrix } from '../linalg/engine.js';
import type { Svd } from '../linalg/jacobi-svd.js';
import { truncatedSvd, type SvdMethod } from '../linalg/truncated-svd.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { Rng } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { denseLayer, denseParameters, type DenseLayer } from './dense-layer.js';

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

/**
 * The low-rank layer as a module: `a` is Linear(in, r, bias=false) and `b` is Linear(r, out), so
 * the parameters are named `a.weight` (r, in), `b.weight` (out, r) and `b.bias` (out).
 */
export class LowRankLinear extends Module {
  readonly a: Linear;
  readonly b: Linear;

  constructor(readonly inFeatures: number, readonly outFeatures: number, readonly rank: number, rng: Rng = new Rng(0)) {
    super();
    checkRank(rank, inFeatures, outFeatures);
    this.a = new Linear(inFeatures, rank, { bias: false, rng });
    this.b = new Linear(rank, outFeatures, { rng });
  }

  /** A module holding copies of the given factors. */
  static fromFactors(f: LowRankFactors): LowRankLinear {
    const m = new LowRankLinear(f.inFeatures, f.outFeatures, f.rank);
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

/** Compression ratio of a factorisation against the dense layer it replaces. */
export function compressionRatio(dense: DenseLayer, f: LowRankFactors): number {
  return denseParameters(dense) / lowRankParameters(f);
}

/**
 * Swaps a dense layer for its rank-r truncated-SVD factorisation (the data-free compression; see
 * closed-form.ts for the data-aware one). Accepts an nn Linear or plain dense weights.
 */
export async function toLowRank(layer: Linear | DenseLayer, rank: number, options: { method?: SvdMethod; rng?: Rng } = {}): Promise<LowRankLinear> {
  const dense = layer instanceof Linear ? fromLinear(layer) : layer;
  checkRank(rank, dense.inFeatures, dense.outFeatures);
  const w = f32Matrix(dense.outFeatures, dense.inFeatures, dense.weight);
  const method = options.method ?? 'gram';
  const svd = await truncatedSvd(w, { rank, method, ...(options.rng === undefined ? {} : { rng: options.rng }) });
  return LowRankLinear.fromFactors(svdFactors(svd, rank, dense.bias));
}

/** Copies a Linear layer's parameters into a dense layer (zero bias when it has none). */
export function fromLinear(lin: Linear): DenseLayer {
  const w = lin.weight.node.realized as Float32Array;
  const b = lin.bias === null ? new Float32Array(lin.outFeatures) : (lin.bias.node.realized as Float32Array);
  return denseLayer(lin.inFeatures, lin.outFeatures, w.slice(), b.slice());
}

/** The lazy forward of factors on an (N, in) tensor: ((N, in) @ (in, r)) @ (r, out) + b -> (N, out). */
export function lowRankForward(f: LowRankFactors, x: Tensor): Tensor {
  const a = Tensor.from(f.a, [f.rank, f.inFeatures]);
  const b = Tensor.from(f.b, [f.outFeatures, f.rank]);
  const bias = Tensor.from(f.bias, [f.outFeatures]);
  return x.matmul(a.mT).matmul(b.mT).add(bias);
}
