import { configError } from '../errors.js';
import type { Rng } from '../tensor/random.js';
import { engineMatmul, toF64, type F32Matrix } from './engine.js';
import { jacobiSvd, type Svd } from './jacobi-svd.js';
import { matmul, matrix, sliceColumns, type Matrix } from './matrix.js';
import { orthonormalize } from './qr.js';

/** Options of `randomizedSvd`. */
export interface RandomizedSvdOptions {
  /** Number of singular triplets wanted. */
  readonly rank: number;
  /** Extra sample columns beyond `rank` (HMT §4.2 suggest 5–10); default 10. */
  readonly oversample?: number;
  /** Power (subspace) iterations; each sharpens the basis by (σ_{l+1}/σ_j)² ; default 4. */
  readonly powerIterations?: number;
  /** Source of the Gaussian test matrix. */
  readonly rng: Rng;
}

/**
 * Randomized SVD (Halko, Martinsson & Tropp, "Finding structure with randomness",
 * https://arxiv.org/abs/0909.4061): randomized subspace iteration (their Alg. 4.4) to find an
 * orthonormal Q (m x l, l = rank + oversample) with A ≈ Q·Qᵀ·A, then the SVD of the small
 * B = Qᵀ·A (Alg. 5.1). The products with A and Aᵀ — the only work that grows with the size of
 * A — run on the engine in float32; every intermediate basis is re-orthonormalised in float64
 * (Householder QR) so rounding never collapses it, and B's SVD is a one-sided Jacobi SVD.
 * Accuracy: the error ‖A − U·S·Vᵀ‖ approaches the optimal σ_{rank+1} as the power iterations grow;
 * individual singular vectors converge at the rate (σ_{l+1}/σ_j)^(2q+1), so clusters straddling
 * the cut-off need more iterations or oversampling.
 */
export async function randomizedSvd(a: F32Matrix, o: RandomizedSvdOptions): Promise<Svd> {
  const minDim = Math.min(a.rows, a.cols);
  const k = o.rank;
  if (!Number.isInteger(k) || k < 1 || k > minDim) throw configError(`randomizedSvd: rank must be an integer in [1, ${minDim}], got ${k}`);
  const p = o.oversample ?? 10;
  const q = o.powerIterations ?? 4;
  if (!Number.isInteger(p) || p < 0) throw configError(`randomizedSvd: oversample must be a non-negative integer, got ${p}`);
  if (!Number.isInteger(q) || q < 0) throw configError(`randomizedSvd: powerIterations must be a non-negative integer, got ${q}`);
  const l = Math.min(k + p, minDim);
  const omega = matrix(a.cols, l);
  for (let i = 0; i < omega.data.length; i++) omega.data[i] = o.rng.normal();
  let basis = orthonormalize(toF64(await engineMatmul(a, omega))); // (m, n) @ (n, l) -> (m, l)
  for (let it = 0; it < q; it++) {
    const z = orthonormalize(toF64(await engineMatmul(a, basis, { transA: true }))); // (n, m) @ (m, l) -> (n, l)
    basis = orthonormalize(toF64(await engineMatmul(a, z))); // (m, n) @ (n, l) -> (m, l)
  }
  const bt = toF64(await engineMatmul(a, basis, { transA: true })); // Bᵀ = Aᵀ·Q: (n, m) @ (m, l) -> (n, l)
  const small = jacobiSvd(bt); // Bᵀ = Ũ_b·S·Ṽ_bᵀ, so B = Ṽ_b·S·Ũ_bᵀ
  const u = matmul(basis, sliceColumns(small.v, 0, k)); // (m, l) @ (l, k) -> (m, k)
  return { u, s: small.s.slice(0, k), v: sliceColumns(small.u, 0, k) };
}

/** The rank-k product U·diag(s)·Vᵀ in float64 (for tests and small reconstructions). */
export function reconstruct(svd: Svd, k = svd.s.length): Matrix {
  const { u, s, v } = svd;
  const us = matrix(u.rows, k);
  for (let i = 0; i < u.rows; i++) for (let j = 0; j < k; j++) us.data[i * k + j] = (u.data[i * u.cols + j] as number) * (s[j] as number);
  const vtk = matrix(k, v.rows);
  for (let i = 0; i < v.rows; i++) for (let j = 0; j < k; j++) vtk.data[j * v.rows + i] = v.data[i * v.cols + j] as number;
  return matmul(us, vtk);
}
