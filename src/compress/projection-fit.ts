import { configError, dataError } from '../errors.js';
import { engineMatmul, f32Matrix } from '../linalg/engine.js';
import type { Linear } from '../nn/linear.js';
import { LowRankLinear, lowRankParameters, rankSavesParameters, type LowRankFactors } from '../nn/low-rank-linear.js';
import { closedFormFactors, outputBasis, type OutputBasis } from '../rank/closed-form.js';
import type { DenseLayer } from '../rank/dense-layer.js';
import { fromLinear, lowRankForward } from '../rank/low-rank-linear.js';
import { fidelity } from '../rank/metrics.js';
import { Tensor } from '../tensor/tensor.js';
import type { InputMoments } from './moments.js';

/**
 * One projection's data-aware factorisation from its input moments (the exact closed form of
 * rank/closed-form.ts): the output basis, the error every rank leaves, and the output cosine of
 * every rank on a sample of the calibration inputs.
 *
 * Dims: m sampled tokens, D in, O out, K basis vectors.
 */

/** The largest rank that still stores fewer weights than the dense matrix (0 when none does). */
export function maxSavingRank(inFeatures: number, outFeatures: number): number {
  const limit = Math.min(inFeatures, outFeatures) - 1;
  let r = Math.min(limit, Math.floor((inFeatures * outFeatures - 1) / (inFeatures + outFeatures)));
  while (r > 0 && !rankSavesParameters(r, inFeatures, outFeatures)) r--;
  return r;
}

/** Parameters (weights and bias) of a projection at rank r, or dense when r is null. */
export function projectionParameters(inFeatures: number, outFeatures: number, rank: number | null): number {
  return rank === null ? inFeatures * outFeatures + outFeatures : rank * (inFeatures + outFeatures) + outFeatures;
}

/** A projection's fit: everything rank selection and the report need. */
export interface ProjectionFit {
  readonly path: string;
  readonly teacher: DenseLayer;
  readonly moments: InputMoments;
  readonly basis: OutputBasis;
  /**
   * relError[r] (r = 0 … min(in, out)): squared output error of the best rank-r map over the calibration
   * tokens, as a fraction of the outputs' total energy Σ‖y‖² (mean included); relError[0] = 1.
   */
  readonly relError: Float64Array;
  /** cosine[r] (r = 1 … K; [0] unused): mean output cosine of the rank-r closed form on the sample. */
  readonly cosine: Float64Array;
  /** Σ‖y‖² of the dense outputs over the calibration tokens (mean included): relError's denominator. */
  readonly outputEnergy: number;
}

/** Fits `layer` (its current dense weights) on `moments`, with K basis vectors, scoring ranks on `sample` (m, D). */
export async function fitProjection(path: string, layer: Linear, moments: InputMoments, k: number, sample: Float32Array): Promise<ProjectionFit> {
  const teacher = fromLinear(layer);
  if (!teacher.weight.every(Number.isFinite) || !teacher.bias.every(Number.isFinite)) throw dataError(`${path}: the weights hold non-finite values; nothing to compress`);
  if (moments.dim !== teacher.inFeatures) throw configError(`${path}: input statistics have ${moments.dim} features, the layer expects ${teacher.inFeatures}`);
  const basis = await outputBasis(teacher, moments, k, 'exact');
  const yMean = outputMean(teacher, moments.mean);
  let meanEnergy = 0;
  for (const v of yMean) meanEnergy += v * v;
  const centred = basis.energies.reduce((a, v) => a + v, 0);
  const total = centred + moments.rows * meanEnergy;
  const maxRank = Math.min(teacher.inFeatures, teacher.outFeatures);
  const relError = new Float64Array(maxRank + 1);
  let rest = centred;
  for (let r = 0; r <= maxRank; r++) {
    relError[r] = total > 0 ? Math.max(rest, 0) / total : 0;
    rest -= basis.energies[r] ?? 0;
  }
  const cosine = await cosineByRank(teacher, basis, yMean, sample);
  return { path, teacher, moments, basis, relError, cosine, outputEnergy: total };
}

/** The rank-r closed-form module of a fit. */
export function fitFactors(fit: ProjectionFit, rank: number): LowRankFactors {
  return closedFormFactors(fit.teacher, fit.basis, fit.moments.mean, rank);
}

/** How a projection's factors are computed: the data-aware closed form, or the truncated SVD of the weights alone (the baseline). */
export type FactorMethod = 'closed-form' | 'weight-svd';

/**
 * Output energy the factors lose on all calibration tokens, as a fraction of the dense outputs'
 * energy Σ‖y‖² (mean included), exactly from the moments: with ΔW = W − B·A and Δb = b − b̂,
 *     Σ‖Δy‖² = tr(ΔW·G·ΔWᵀ) + n·‖ΔW·x̄ + Δb‖²   (G the centred Gram).
 */
export async function factorsRelError(fit: ProjectionFit, f: LowRankFactors): Promise<number> {
  const { inFeatures: D, outFeatures: O } = fit.teacher;
  const { rows: n, mean, gram } = fit.moments;
  const ba = await engineMatmul(f32Matrix(O, f.rank, f.b), f32Matrix(f.rank, D, f.a)); // (O, r) @ (r, D) -> (O, D)
  const dW = new Float32Array(O * D);
  for (let i = 0; i < O * D; i++) dW[i] = (fit.teacher.weight[i] as number) - (ba.data[i] as number);
  const energy = async (w: Float32Array, bias: Float64Array): Promise<number> => {
    const wg = (await engineMatmul(f32Matrix(O, D, w), gram)).data; // (O, D) @ (D, D) -> (O, D)
    let e = 0;
    for (let i = 0; i < O * D; i++) e += (wg[i] as number) * (w[i] as number);
    for (let o = 0; o < O; o++) {
      let s = bias[o] as number;
      for (let d = 0; d < D; d++) s += (w[o * D + d] as number) * (mean[d] as number);
      e += n * s * s;
    }
    return e;
  };
  const dBias = Float64Array.from({ length: O }, (_, o) => (fit.teacher.bias[o] as number) - (f.bias[o] as number));
  return fit.outputEnergy > 0 ? Math.max(await energy(dW, dBias), 0) / fit.outputEnergy : 0;
}

/** Factors as a module, and their output cosine against the dense projection on the sample. */
export async function factorsModule(fit: ProjectionFit, f: LowRankFactors, sample: Float32Array, opts: { allowFullRank?: boolean } = {}): Promise<{ module: LowRankLinear; cosine: number; parameters: number }> {
  const module = LowRankLinear.fromFactors(f, opts);
  const D = fit.teacher.inFeatures;
  const m = sample.length / D;
  let cosine = 1;
  if (m > 0) {
    const x = Tensor.from(sample, [m, D]);
    const y = (await denseOut(fit.teacher, sample, m)).data;
    const yHat = (await lowRankForward(f, x).toArray()) as Float32Array; // (m, D) -> (m, O)
    cosine = fidelity(yHat, y, m, fit.teacher.outFeatures).cosine;
  }
  return { module, cosine, parameters: lowRankParameters(f) };
}

/** ȳ = W·x̄ + b (float64). */
function outputMean(t: DenseLayer, xMean: Float64Array): Float64Array {
  const y = new Float64Array(t.outFeatures);
  for (let o = 0; o < t.outFeatures; o++) {
    let s = t.bias[o] as number;
    for (let i = 0; i < t.inFeatures; i++) s += (t.weight[o * t.inFeatures + i] as number) * (xMean[i] as number);
    y[o] = s;
  }
  return y;
}

async function denseOut(t: DenseLayer, sample: Float32Array, m: number): Promise<{ data: Float32Array }> {
  const y = await engineMatmul(f32Matrix(m, t.inFeatures, sample), f32Matrix(t.outFeatures, t.inFeatures, t.weight), { transB: true }); // (m, D) @ (D, O) -> (m, O)
  const data = y.data;
  for (let i = 0; i < m; i++) for (let o = 0; o < t.outFeatures; o++) data[i * t.outFeatures + o] = (data[i * t.outFeatures + o] as number) + (t.bias[o] as number);
  return { data };
}

/**
 * Mean cosine of every rank at once. The rank-r closed form maps y to ŷ_r = V_r·V_rᵀ·(y − ȳ) + ȳ
 * (rank/closed-form.ts), so with z = V_Kᵀ(y − ȳ) and c_j = v_j·ȳ (V orthonormal):
 *     ŷ_r·y = Σ_{j<r} z_j (z_j + c_j) + ȳ·y,    ‖ŷ_r‖² = Σ_{j<r} (z_j² + 2 z_j c_j) + ‖ȳ‖².
 */
export async function cosineByRank(t: DenseLayer, basis: OutputBasis, yMean: Float64Array, sample: Float32Array): Promise<Float64Array> {
  const K = basis.vectors.cols;
  const O = t.outFeatures;
  const m = sample.length / t.inFeatures;
  const out = new Float64Array(K + 1);
  if (m === 0) return out.fill(NaN);
  const y = (await denseOut(t, sample, m)).data; // (m, O)
  const yc = new Float32Array(y.length);
  for (let i = 0; i < m; i++) for (let o = 0; o < O; o++) yc[i * O + o] = (y[i * O + o] as number) - (yMean[o] as number);
  const z = (await engineMatmul(f32Matrix(m, O, yc), basis.vectors)).data; // (m, O) @ (O, K) -> (m, K)
  const c = new Float64Array(K);
  for (let j = 0; j < K; j++) {
    let s = 0;
    for (let o = 0; o < O; o++) s += (basis.vectors.data[o * K + j] as number) * (yMean[o] as number);
    c[j] = s;
  }
  let yBar2 = 0;
  for (const v of yMean) yBar2 += v * v;
  for (let i = 0; i < m; i++) {
    let yy = 0;
    let yBarY = 0;
    for (let o = 0; o < O; o++) {
      const v = y[i * O + o] as number;
      yy += v * v;
      yBarY += v * (yMean[o] as number);
    }
    let dot = yBarY;
    let nn = yBar2;
    for (let j = 0; j < K; j++) {
      const zj = z[i * K + j] as number;
      dot += zj * (zj + (c[j] as number));
      nn += zj * zj + 2 * zj * (c[j] as number);
      out[j + 1] = (out[j + 1] as number) + dot / Math.sqrt(Math.max(Math.max(nn, 0) * yy, 1e-16));
    }
  }
  for (let r = 1; r <= K; r++) out[r] = (out[r] as number) / m;
  return out;
}
