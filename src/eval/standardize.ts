import { shapeError } from '../errors.js';

/**
 * Feature standardisation as scikit-learn's `StandardScaler`: per-column mean and population
 * standard deviation (ddof 0) fitted on the training rows only; a constant column keeps scale 1.
 */

/** Fitted column statistics. */
export interface Standardizer {
  readonly dim: number;
  readonly mean: Float64Array;
  readonly scale: Float64Array;
}

/** Fits column means and scales on `x` (rows of `dim`). */
export function fitStandardizer(x: Float32Array, dim: number): Standardizer {
  const n = x.length / dim;
  if (!Number.isInteger(n) || n < 1) throw shapeError('standardize', `${x.length} values are not rows of ${dim}`);
  const mean = new Float64Array(dim);
  const m2 = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let j = 0; j < dim; j++) mean[j]! += x[r * dim + j] as number;
  for (let j = 0; j < dim; j++) mean[j]! /= n;
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < dim; j++) {
      const d = (x[r * dim + j] as number) - (mean[j] as number);
      m2[j]! += d * d;
    }
  }
  // A column whose spread is rounding noise around its mean is constant: scale 1, as scikit-learn.
  const scale = m2.map((v, j) => {
    const s = Math.sqrt(v / n);
    return s > 1e-10 * Math.max(1, Math.abs(mean[j] as number)) ? s : 1;
  });
  return { dim, mean, scale };
}

/** (x − mean) / scale, as a new array. */
export function applyStandardizer(st: Standardizer, x: Float32Array): Float32Array {
  if (x.length % st.dim !== 0) throw shapeError('standardize', `${x.length} values are not rows of ${st.dim}`);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const j = i % st.dim;
    out[i] = ((x[i] as number) - (st.mean[j] as number)) / (st.scale[j] as number);
  }
  return out;
}
