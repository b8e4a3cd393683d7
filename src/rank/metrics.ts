import { shapeError } from '../errors.js';

/**
 * Fidelity of a compressed layer's outputs to the teacher's, as pure functions of host arrays
 * (accumulated in float64):
 * - cosine: mean over rows of x·y / √max(‖x‖²·‖y‖², 10⁻¹⁶) (PyTorch's F.cosine_similarity, eps 1e-8);
 * - mse: mean over all elements of (pred − target)²;
 * - relMse: mse / mean(target²), the fraction of the output energy (mean included) that is lost.
 */
export interface Fidelity {
  readonly cosine: number;
  readonly mse: number;
  readonly relMse: number;
}

/** Fidelity of `pred` against `target`, both (rows, cols) row-major. */
export function fidelity(pred: Float32Array, target: Float32Array, rows: number, cols: number): Fidelity {
  if (pred.length !== rows * cols || target.length !== rows * cols) {
    throw shapeError('fidelity', `pred has ${pred.length} and target ${target.length} values, expected ${rows} x ${cols}`);
  }
  if (rows === 0 || cols === 0) throw shapeError('fidelity', `needs at least one row and column, got ${rows} x ${cols}`);
  let cosSum = 0;
  let sq = 0;
  let energy = 0;
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    let pp = 0;
    let tt = 0;
    const o = r * cols;
    for (let j = 0; j < cols; j++) {
      const p = pred[o + j] as number;
      const t = target[o + j] as number;
      dot += p * t;
      pp += p * p;
      tt += t * t;
      sq += (p - t) * (p - t);
    }
    energy += tt;
    cosSum += dot / Math.sqrt(Math.max(pp * tt, 1e-16));
  }
  const n = rows * cols;
  const mse = sq / n;
  return { cosine: cosSum / rows, mse, relMse: energy === 0 ? (mse === 0 ? 0 : Infinity) : mse / (energy / n) };
}

/** Cosine gained over a baseline (absolute difference of mean cosines). */
export function cosineImprovement(method: Fidelity, baseline: Fidelity): number {
  return method.cosine - baseline.cosine;
}

/** Percentage of the baseline's MSE removed: 100·(1 − mse/mse_baseline). */
export function mseReduction(method: Fidelity, baseline: Fidelity): number {
  return baseline.mse === 0 ? 0 : 100 * (1 - method.mse / baseline.mse);
}

/** How far a method is from the closed-form optimum: excess MSE (absolute and relative) and cosine shortfall. */
export interface Gap {
  readonly mse: number;
  readonly relative: number;
  readonly cosine: number;
}

/** Gap of `method` to `optimum` (positive when the method is worse). */
export function gapTo(method: Fidelity, optimum: Fidelity): Gap {
  const mse = method.mse - optimum.mse;
  return { mse, relative: optimum.mse === 0 ? 0 : mse / optimum.mse, cosine: optimum.cosine - method.cosine };
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw shapeError('median', 'needs at least one value');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
