import { dataError, shapeError } from '../errors.js';
import { f32Matrix, type F32Matrix } from '../linalg/engine.js';
import type { HostArray } from '../tensor/host-array.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Input statistics of one projection over the calibration tokens, accumulated batch by batch so
 * that no activation is kept: the token count n, the mean x̄ and the centred second moment
 * Σ (x − x̄)(x − x̄)ᵀ, all that the closed form (rank/closed-form.ts) needs. Each batch's own
 * centred Gram is formed on the engine (float32, centred by the batch mean, which keeps the
 * rounding relative to the spread rather than to the mean) and merged into float64 totals with
 * the pairwise update of Chan, Golub & LeVeque (1979):
 *     M = M_a + M_b + δδᵀ·n_a·n_b/n,   δ = x̄_b − x̄_a.
 *
 * Dims: B batch, T tokens, D projection input features.
 */

/** The lazy per-batch statistics of `x` (B, T, D) over the tokens where `keep` (B, T) is 1: [sum (D), centred Gram (D, D)]. */
export function batchMomentOutputs(x: Tensor, keep: Tensor): [Tensor, Tensor] {
  const d = x.shape[2] as number;
  const k = keep.unsqueeze(-1); // (B, T) -> (B, T, 1)
  const sum = x.mul(k).sum([0, 1]); // (B, T, D) -> (D)
  const mean = sum.div(keep.sum()); // (D)
  const xc = x.sub(mean).mul(k).reshape([-1, d]); // (B, T, D) -> (B·T, D), pad rows zero
  return [sum, xc.mT.matmul(xc)]; // (D, B·T) @ (B·T, D) -> (D, D)
}

/** Running statistics of one projection input. */
export class MomentAccumulator {
  private n = 0;
  private readonly meanAcc: Float64Array;
  private readonly m2: Float64Array;

  constructor(readonly dim: number, readonly what: string) {
    this.meanAcc = new Float64Array(dim);
    this.m2 = new Float64Array(dim * dim);
  }

  /** Tokens seen. */
  get count(): number {
    return this.n;
  }

  /**
   * Adds one batch: `count` tokens, their `sum` (D) and centred Gram (D, D) from `batchMomentOutputs`.
   * Non-finite values (activations that overflowed, or NaN weights) are a `data` error naming the projection.
   */
  add(count: number, sum: HostArray, gram: HostArray, batch: string): void {
    const D = this.dim;
    if (sum.data.length !== D || gram.data.length !== D * D) throw shapeError('MomentAccumulator.add', `${this.what}: expected ${D} and ${D}x${D} values, got ${sum.data.length} and ${gram.data.length}`);
    if (count <= 0) return;
    const s = sum.data as Float32Array;
    const g = gram.data as Float32Array;
    for (let i = 0; i < D; i++) if (!Number.isFinite(s[i] as number)) throw nonFinite(this.what, batch);
    for (let i = 0; i < D * D; i++) if (!Number.isFinite(g[i] as number)) throw nonFinite(this.what, batch);
    const na = this.n;
    const n = na + count;
    const delta = new Float64Array(D);
    for (let i = 0; i < D; i++) delta[i] = (s[i] as number) / count - (this.meanAcc[i] as number);
    const w = (na * count) / n;
    for (let i = 0; i < D; i++) {
      const di = (delta[i] as number) * w;
      const row = i * D;
      for (let j = 0; j < D; j++) this.m2[row + j] = (this.m2[row + j] as number) + (g[row + j] as number) + di * (delta[j] as number);
    }
    for (let i = 0; i < D; i++) this.meanAcc[i] = (this.meanAcc[i] as number) + ((delta[i] as number) * count) / n;
    this.n = n;
  }

  /** The statistics in the form the closed form reads: n, x̄ (float64), centred Gram (float32, exactly symmetric). */
  result(): InputMoments {
    const D = this.dim;
    const g = new Float32Array(D * D);
    for (let i = 0; i < D; i++) {
      for (let j = 0; j <= i; j++) {
        const v = 0.5 * ((this.m2[i * D + j] as number) + (this.m2[j * D + i] as number));
        g[i * D + j] = v;
        g[j * D + i] = v;
      }
    }
    return { rows: this.n, dim: D, mean: Float64Array.from(this.meanAcc), gram: f32Matrix(D, D, g) };
  }
}

/** n, x̄ and X_cᵀX_c of a projection's inputs (the `SecondMoments` of rank/closed-form.ts). */
export interface InputMoments {
  readonly rows: number;
  readonly dim: number;
  readonly mean: Float64Array;
  readonly gram: F32Matrix;
}

function nonFinite(what: string, batch: string): Error {
  return dataError(`calibration: non-finite activations at the input of ${what} (${batch}); the model or its earlier compressed layers produce Inf/NaN on these sequences`);
}
