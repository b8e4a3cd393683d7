import { configError } from '../errors.js';
import { engineGram, engineMatmul, f32Matrix, toF64, type F32Matrix } from '../linalg/engine.js';
import { symmetrize, type Matrix } from '../linalg/matrix.js';
import { randomizedSvd } from '../linalg/randomized-svd.js';
import { symmetricEigenInWorker } from '../linalg/symmetric-eigen.js';
import type { Rng } from '../tensor/random.js';
import type { DenseLayer } from './dense-layer.js';
import { columnMeans, type Embeddings } from './embeddings.js';
import { lowRankFactors, type LowRankFactors } from './low-rank-linear.js';

/**
 * The exact data-aware optimum: the rank-r map B·A (+ bias c) minimising the squared error of the
 * outputs on the training inputs,
 *     min_{rank M ≤ r, c}  Σ_i ‖(W·x_i + b) − (M·x_i + c)‖².
 * Reduced-rank regression (Izenman 1975; Reinsel & Velu, "Multivariate Reduced-Rank Regression")
 * with targets that are themselves linear in x. The optimal c is ȳ − M·x̄, which leaves
 * min ‖Y_c − X_c·Mᵀ‖_F with X_c the centred inputs and Y_c = X_c·Wᵀ the centred teacher outputs.
 * X_c·Mᵀ has rank ≤ r, so by Eckart–Young the error is at least that of [Y_c]_r, the best rank-r
 * approximation of Y_c — and M = V_r·V_rᵀ·W attains it, V_r being the top-r right singular
 * vectors of Y_c (X_c·Mᵀ = Y_c·V_r·V_rᵀ = [Y_c]_r). Hence
 *     B = V_r (out, r),   A = V_rᵀ·W (r, in),   c = b + (I − V_r·V_rᵀ)·W·x̄.
 * No inverse of X_cᵀX_c appears, so near-singular input covariances (low intrinsic dimension,
 * fewer proteins than features) are harmless.
 *
 * V_r comes from the eigenvectors of Y_cᵀY_c = W·(X_cᵀX_c)·Wᵀ (formed on the engine, decomposed
 * in float64 on a worker thread; exact up to float32 rounding of the Gram matrix, which perturbs the objective only at
 * second order), or for very wide layers from a randomized SVD of Y_c.
 */

/** What the exact method reads of the inputs: their count, mean and centred second moment. */
export interface SecondMoments {
  readonly rows: number;
  readonly dim: number;
  /** Column means x̄ (float64). */
  readonly mean: Float64Array;
  /** X_cᵀX_c (dim, dim) in float32 (exact symmetric). */
  readonly gram: F32Matrix;
}

/** Training-input statistics shared by every teacher (the randomized method also reads the centred inputs). */
export interface InputStats extends SecondMoments {
  /** The centred inputs X_c (rows, dim), float32. */
  readonly centred: F32Matrix;
}

/** Centres the training inputs and forms their Gram matrix. */
export async function inputStats(x: Embeddings): Promise<InputStats> {
  const mean = columnMeans(x);
  const centred = new Float32Array(x.data.length);
  for (let r = 0; r < x.rows; r++) {
    const o = r * x.dim;
    for (let j = 0; j < x.dim; j++) centred[o + j] = (x.data[o + j] as number) - (mean[j] as number);
  }
  const xc = f32Matrix(x.rows, x.dim, centred);
  const gram = await engineGram(xc); // (dim, dim)
  return { rows: x.rows, dim: x.dim, mean, centred: xc, gram: f32Matrix(x.dim, x.dim, Float32Array.from(gram.data)) };
}

/** The top right singular vectors of the centred teacher outputs, and what they capture. */
export interface OutputBasis {
  /** V_K (out, K): columns are the top-K right singular vectors of Y_c. */
  readonly vectors: Matrix;
  /** A_K = V_Kᵀ·W (K, in), float32: row j is the A row of every rank ≥ j+1. */
  readonly projected: Float32Array;
  /** Squared singular values of Y_c, descending (all of them for the exact method, K otherwise). */
  readonly energies: Float64Array;
  readonly method: 'exact' | 'randomized';
}

/** Computes V_K for a teacher (K ≤ out). */
export async function outputBasis(teacher: DenseLayer, stats: SecondMoments | InputStats, k: number, method: 'exact' | 'randomized', rng?: Rng): Promise<OutputBasis> {
  const out = teacher.outFeatures;
  if (!Number.isInteger(k) || k < 1 || k > out) throw configError(`closed form: basis size must be in [1, ${out}], got ${k}`);
  if (stats.dim !== teacher.inFeatures) throw configError(`closed form: inputs have ${stats.dim} features, the teacher expects ${teacher.inFeatures}`);
  const w = f32Matrix(out, teacher.inFeatures, teacher.weight);
  let vectors: Matrix;
  let energies: Float64Array;
  if (method === 'exact') {
    const wc = await engineMatmul(w, stats.gram); // (out, in) @ (in, in) -> (out, in)
    const g = await engineMatmul(wc, w, { transB: true }); // (out, in) @ (in, out) -> (out, out)
    const eig = await symmetricEigenInWorker(symmetrize(toF64(g)), { vectors: k });
    vectors = eig.vectors;
    energies = eig.values.map((v) => Math.max(v, 0));
  } else {
    if (rng === undefined) throw configError('closed form: the randomized method needs an rng');
    if (!('centred' in stats)) throw configError('closed form: the randomized method needs the centred inputs, not only their second moments');
    const yc = await engineMatmul(stats.centred, w, { transB: true }); // (n, in) @ (in, out) -> (n, out)
    const svd = await randomizedSvd(yc, { rank: Math.min(k, yc.rows, yc.cols), rng });
    vectors = svd.v;
    energies = svd.s.map((s) => s * s);
  }
  const projected = await engineMatmul(vectors, w, { transA: true }); // (K, out) @ (out, in) -> (K, in)
  return { vectors, projected: projected.data, energies, method };
}

/** The rank-r closed-form factors from a basis (r ≤ K). */
export function closedFormFactors(teacher: DenseLayer, basis: OutputBasis, mean: Float64Array, rank: number): LowRankFactors {
  const { inFeatures: inn, outFeatures: out } = teacher;
  const k = basis.vectors.cols;
  if (rank > k) throw configError(`closed form: rank ${rank} exceeds the ${k} basis vectors computed`);
  const a = basis.projected.slice(0, rank * inn);
  const b = new Float32Array(out * rank);
  for (let i = 0; i < out; i++) for (let j = 0; j < rank; j++) b[i * rank + j] = basis.vectors.data[i * k + j] as number;
  // c = b + W·x̄ − B·(A·x̄), with the float32 factors actually used.
  const ax = new Float64Array(rank);
  for (let j = 0; j < rank; j++) {
    let s = 0;
    for (let i = 0; i < inn; i++) s += (a[j * inn + i] as number) * (mean[i] as number);
    ax[j] = s;
  }
  const bias = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let wx = 0;
    for (let i = 0; i < inn; i++) wx += (teacher.weight[o * inn + i] as number) * (mean[i] as number);
    let bax = 0;
    for (let j = 0; j < rank; j++) bax += (b[o * rank + j] as number) * (ax[j] as number);
    bias[o] = (teacher.bias[o] as number) + wx - bax;
  }
  return lowRankFactors(inn, out, rank, a, b, bias);
}
