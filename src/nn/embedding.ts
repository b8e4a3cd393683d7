import { hostArray } from '../tensor/host-array.js';
import type { Rng } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module, Parameter } from './module.js';

/** Options of an Embedding. */
export interface EmbeddingOptions {
  /** Row kept at zero at init (PyTorch's padding_idx init behaviour). */
  readonly paddingIdx?: number;
  /** Generator for N(0, 1) init, as PyTorch's nn.Embedding. */
  readonly rng: Rng;
}

/** A lookup table (num, dim) indexed by integer ids. */
export class Embedding extends Module {
  readonly weight: Parameter;

  constructor(readonly num: number, readonly dim: number, opts: EmbeddingOptions) {
    super();
    const w = opts.rng.normalArray(num * dim);
    if (opts.paddingIdx !== undefined) w.fill(0, opts.paddingIdx * dim, (opts.paddingIdx + 1) * dim);
    this.weight = Parameter.of(hostArray('float32', [num, dim], w));
  }

  /** ids (…) int -> (…, dim) */
  forward(ids: Tensor): Tensor {
    return this.weight.gather(ids, 0);
  }
}
