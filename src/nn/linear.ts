import { f32Matrix } from '../linalg/engine.js';
import { truncatedSvd, type SvdMethod } from '../linalg/truncated-svd.js';
import { hostArray } from '../tensor/host-array.js';
import type { Rng } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkRank, LowRankLinear, svdFactors } from './low-rank-linear.js';
import { Module, Parameter } from './module.js';

/** Options of a Linear layer. */
export interface LinearOptions {
  readonly bias?: boolean;
  /** Generator for PyTorch-style init: weight and bias ~ U(±1/√in) (kaiming-uniform, a = √5). */
  readonly rng: Rng;
}

/** y = x·Wᵀ + b with W of shape (out, in), as PyTorch's nn.Linear. */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = Parameter.of(hostArray('float32', [outFeatures, inFeatures], opts.rng.uniformArray(inFeatures * outFeatures, -bound, bound)));
    this.bias = opts.bias === false ? null : Parameter.of(hostArray('float32', [outFeatures], opts.rng.uniformArray(outFeatures, -bound, bound)));
  }

  /** (…, in) -> (…, out) */
  forward(x: Tensor): Tensor {
    const y = x.matmul(this.weight.mT); // (…, in) @ (in, out) -> (…, out)
    return this.bias === null ? y : y.add(this.bias);
  }

  /**
   * The rank-r truncated-SVD factorisation of this layer (data-free, Eckart–Young optimal for the
   * weights; compress/ and rank/closed-form.ts give the data-aware factors). 1 ≤ rank < min(in, out).
   */
  async toLowRank(rank: number, options: { method?: SvdMethod; rng?: Rng } = {}): Promise<LowRankLinear> {
    checkRank(rank, this.inFeatures, this.outFeatures);
    const w = f32Matrix(this.outFeatures, this.inFeatures, this.weight.node.realized as Float32Array);
    const svd = await truncatedSvd(w, { rank, method: options.method ?? 'gram', ...(options.rng === undefined ? {} : { rng: options.rng }) });
    const bias = this.bias === null ? new Float32Array(this.outFeatures) : (this.bias.node.realized as Float32Array);
    return LowRankLinear.fromFactors(svdFactors(svd, rank, bias));
  }
}
