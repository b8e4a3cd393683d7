import { configError } from '../errors.js';
import { matrix } from '../linalg/matrix.js';
import { qrThin } from '../linalg/qr.js';
import type { Rng } from '../tensor/random.js';
import type { SyntheticKind } from './config.js';
import type { Embeddings } from './embeddings.js';

/**
 * Synthetic stand-ins for per-protein PLM embeddings, used when no embedding files are given (and
 * labelled as synthetic in every output).
 *
 * `plm-like` (default) mimics what makes real mean-pooled PLM embeddings compressible: a large
 * shared mean, a low intrinsic dimension with a decaying spectrum, and weak anisotropic noise:
 *
 *   x = μ + Σ_{k=1..K} s_k·z_k·u_k + σ ⊙ ε,   z_k, ε_j ~ N(0, 1) per protein,
 *   s_k = leadScale·exp(−(k−1)/decay),   μ_j ~ N(0, meanStd²),   σ_j = noiseStd·exp(noiseSpread·g_j),
 *
 * with u_1..u_K random orthonormal directions (K = min(latentDim, ⌊D/2⌋)) and g_j ~ N(0, 1) fixed per
 * dimension. With the defaults (D = 1280, K = 64, decay 12) the latent variances s_k² fall by e every
 * 6 factors, so the participation ratio (Σλ)²/Σλ² of the covariance is about 13 and rank 64 holds
 * 97% of the variance; the rest is the per-dimension noise, spread over all 1280 dimensions with
 * stds varying about 5x between the 5th and 95th percentiles.
 *
 * `seed` is the original benchmark's fallback: i.i.d. N(0, 1) inputs with the first 100 dimensions
 * scaled by 5.
 *
 * Training and validation rows are independent draws from the same population (same μ, u, σ).
 */

/** Parameters of the `plm-like` generator. */
export interface PlmLikeParams {
  /** Number of latent factors K (capped at ⌊D/2⌋). */
  readonly latentDim: number;
  /** Scale s₁ of the leading factor. */
  readonly leadScale: number;
  /** e-folding length of the factor scales, in factors. */
  readonly decay: number;
  /** Standard deviation of the per-dimension mean μ_j. */
  readonly meanStd: number;
  /** Median per-dimension noise standard deviation. */
  readonly noiseStd: number;
  /** Log-normal spread of the per-dimension noise standard deviations. */
  readonly noiseSpread: number;
}

/** Defaults of the `plm-like` generator. */
export const PLM_LIKE: Readonly<PlmLikeParams> = Object.freeze({
  latentDim: 64,
  leadScale: 1,
  decay: 12,
  meanStd: 0.2,
  noiseStd: 0.01,
  noiseSpread: 0.5,
});

/** Dimensions of the `seed` generator that are scaled, and by how much. */
export const SEED_SCALED_DIMS = 100;
export const SEED_SCALE = 5;

/** A synthetic train/validation pair and a description of how it was made (for the summary). */
export interface SyntheticData {
  readonly train: Embeddings;
  readonly val: Embeddings;
  readonly description: Readonly<Record<string, unknown>>;
}

/** Draws training and validation embeddings from one synthetic population. */
export function syntheticEmbeddings(kind: SyntheticKind, sizes: { train: number; val: number; dim: number }, rng: Rng): SyntheticData {
  const { train, val, dim } = sizes;
  if (!(Number.isInteger(train) && train > 0 && Number.isInteger(val) && val > 0 && Number.isInteger(dim) && dim >= 2)) {
    throw configError(`synthetic data: sizes must be positive integers (dim >= 2), got train ${train}, val ${val}, dim ${dim}`);
  }
  if (kind === 'seed') {
    const draw = (rows: number): Embeddings => {
      const data = rng.normalArray(rows * dim);
      const scaled = Math.min(SEED_SCALED_DIMS, dim);
      for (let r = 0; r < rows; r++) for (let j = 0; j < scaled; j++) data[r * dim + j] = (data[r * dim + j] as number) * SEED_SCALE;
      return { rows, dim, data };
    };
    return {
      train: draw(train),
      val: draw(val),
      description: { generator: 'seed', model: `x ~ N(0, I), first ${Math.min(SEED_SCALED_DIMS, dim)} dims scaled by ${SEED_SCALE}` },
    };
  }
  const p = PLM_LIKE;
  const k = Math.min(p.latentDim, Math.floor(dim / 2));
  const basis = qrThin(matrix(dim, k, Float64Array.from({ length: dim * k }, () => rng.normal()))).q; // (D, K)
  const mean = Float64Array.from({ length: dim }, () => p.meanStd * rng.normal());
  const noise = Float64Array.from({ length: dim }, () => p.noiseStd * Math.exp(p.noiseSpread * rng.normal()));
  const scales = Float64Array.from({ length: k }, (_, i) => p.leadScale * Math.exp(-i / p.decay));
  // The factors as rows, (K, D), so that each axpy below runs over contiguous memory.
  const factors = new Float64Array(k * dim);
  for (let j = 0; j < dim; j++) for (let f = 0; f < k; f++) factors[f * dim + j] = basis.data[j * k + f] as number;
  const draw = (rows: number): Embeddings => {
    const data = new Float32Array(rows * dim);
    const x = new Float64Array(dim);
    for (let r = 0; r < rows; r++) {
      x.set(mean);
      for (let f = 0; f < k; f++) {
        const z = (scales[f] as number) * rng.normal();
        const u = factors.subarray(f * dim, (f + 1) * dim);
        for (let j = 0; j < dim; j++) x[j] = (x[j] as number) + z * (u[j] as number);
      }
      for (let j = 0; j < dim; j++) data[r * dim + j] = (x[j] as number) + (noise[j] as number) * rng.normal();
    }
    return { rows, dim, data };
  };
  return {
    train: draw(train),
    val: draw(val),
    description: {
      generator: 'plm-like',
      model: 'x = mu + sum_k s_k z_k u_k + sigma * eps; s_k = lead_scale * exp(-(k-1)/decay); sigma_j = noise_std * exp(noise_spread * g_j)',
      latent_dim: k,
      lead_scale: p.leadScale,
      decay: p.decay,
      mean_std: p.meanStd,
      noise_std: p.noiseStd,
      noise_spread: p.noiseSpread,
    },
  };
}
