import { configError } from '../errors.js';
import type { Rng } from '../tensor/random.js';
import { engineGram, engineMatmul, engineOuterGram, type F32Matrix } from './engine.js';
import type { Svd } from './jacobi-svd.js';
import { matrix, type Matrix } from './matrix.js';
import { randomizedSvd } from './randomized-svd.js';
import { symmetricEigenInWorker } from './symmetric-eigen.js';

/** A truncated SVD plus as much of the singular spectrum as the method computed. */
export interface SpectralSvd extends Svd {
  /** Singular values, descending: all min(m, n) for the Gram route, the top `rank` for randomized. */
  readonly spectrum: Float64Array;
  /** Singular values below this are not resolved by the method (rounding floor); 0 when exact. */
  readonly floor: number;
  readonly method: 'gram' | 'randomized';
}

/** How to compute singular triplets: exact through a Gram matrix, or randomized. */
export type SvdMethod = 'gram' | 'randomized';

/** Options of `truncatedSvd`. */
export interface TruncatedSvdOptions {
  readonly rank: number;
  readonly method: SvdMethod;
  /** For the randomized method. */
  readonly rng?: Rng;
  readonly powerIterations?: number;
  readonly oversample?: number;
}

/**
 * The top `rank` singular triplets of A (m x n, float32).
 *
 * `gram`: eigen-decomposition of the smaller Gram matrix (AᵀA or AAᵀ, formed on the engine in
 * float32, decomposed in float64 on a worker thread), giving every singular value and the top vectors; the other
 * side's vectors are A·v/σ. Squaring A costs precision at the bottom of the spectrum: the Gram
 * matrix carries rounding of about ε₃₂·√k·σ₁² (k = its inner dimension), so singular values below
 * `floor` ≈ σ₁·√(ε₃₂·√k) are noise; the top vectors are accurate to about ε₃₂·σ₁²/(σ_j² − σ_{j+1}²).
 *
 * `randomized`: Halko–Martinsson–Tropp (see randomized-svd.ts), for matrices too large for a
 * cubic eigensolver; only the top `rank` values are computed.
 */
export async function truncatedSvd(a: F32Matrix, o: TruncatedSvdOptions): Promise<SpectralSvd> {
  const minDim = Math.min(a.rows, a.cols);
  if (!Number.isInteger(o.rank) || o.rank < 1 || o.rank > minDim) {
    throw configError(`truncatedSvd: rank must be an integer in [1, ${minDim}], got ${o.rank}`);
  }
  if (o.method === 'randomized') {
    if (o.rng === undefined) throw configError('truncatedSvd: the randomized method needs an rng');
    const svd = await randomizedSvd(a, {
      rank: o.rank,
      rng: o.rng,
      ...(o.powerIterations === undefined ? {} : { powerIterations: o.powerIterations }),
      ...(o.oversample === undefined ? {} : { oversample: o.oversample }),
    });
    return { ...svd, spectrum: svd.s.slice(), floor: 0, method: 'randomized' };
  }
  const wide = a.cols > a.rows;
  const inner = wide ? a.cols : a.rows;
  const gram = wide ? await engineOuterGram(a) : await engineGram(a); // (minDim, minDim)
  const eig = await symmetricEigenInWorker(gram, { vectors: o.rank });
  const spectrum = eig.values.map((l) => Math.sqrt(Math.max(l, 0)));
  const s = spectrum.slice(0, o.rank);
  // The other side: A·v/σ (or Aᵀ·u/σ) on the engine.
  const known = eig.vectors; // (minDim, rank)
  const other = await engineMatmul(a, known, wide ? { transA: true } : {}); // (other, rank)
  const scaled = matrix(other.rows, other.cols);
  for (let i = 0; i < other.rows; i++) {
    for (let j = 0; j < other.cols; j++) {
      const sigma = s[j] as number;
      scaled.data[i * other.cols + j] = sigma > 0 ? (other.data[i * other.cols + j] as number) / sigma : 0;
    }
  }
  const sigma1 = spectrum[0] ?? 0;
  const floor = sigma1 * Math.sqrt(2 ** -24 * Math.sqrt(inner));
  const [u, v]: [Matrix, Matrix] = wide ? [known, scaled] : [scaled, known];
  return { u, s, v, spectrum, floor, method: 'gram' };
}
