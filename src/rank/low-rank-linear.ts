import { f32Matrix } from '../linalg/engine.js';
import { truncatedSvd, type SvdMethod } from '../linalg/truncated-svd.js';
import { Linear } from '../nn/linear.js';
import { checkRank, LowRankLinear, lowRankParameters, svdFactors, type LowRankFactors } from '../nn/low-rank-linear.js';
import type { Rng } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { denseLayer, denseParameters, type DenseLayer } from './dense-layer.js';

/**
 * Distil-Rank's view of low-rank layers. The module and its factors live in nn/low-rank-linear.ts
 * (re-exported here); this file adds what works on plain dense weights (`DenseLayer`).
 */
export { checkRank, lowRankFactors, lowRankParameters, LowRankLinear, rankSavesParameters, svdFactors } from '../nn/low-rank-linear.js';
export type { LowRankFactors } from '../nn/low-rank-linear.js';

/** Compression ratio of a factorisation against the dense layer it replaces. */
export function compressionRatio(dense: DenseLayer, f: LowRankFactors): number {
  return denseParameters(dense) / lowRankParameters(f);
}

/**
 * Swaps a dense layer for its rank-r truncated-SVD factorisation (the data-free compression; see
 * closed-form.ts for the data-aware one). Accepts an nn Linear (`Linear.toLowRank`) or plain dense weights.
 */
export async function toLowRank(layer: Linear | DenseLayer, rank: number, options: { method?: SvdMethod; rng?: Rng } = {}): Promise<LowRankLinear> {
  if (layer instanceof Linear) return layer.toLowRank(rank, options);
  checkRank(rank, layer.inFeatures, layer.outFeatures);
  const w = f32Matrix(layer.outFeatures, layer.inFeatures, layer.weight);
  const svd = await truncatedSvd(w, { rank, method: options.method ?? 'gram', ...(options.rng === undefined ? {} : { rng: options.rng }) });
  return LowRankLinear.fromFactors(svdFactors(svd, rank, layer.bias));
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
