import { hostArray } from '../tensor/host-array.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module, Parameter } from './module.js';

/** Layer normalisation over the last dim with affine weight (ones) and bias (zeros). */
export class LayerNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;

  constructor(readonly dim: number, readonly eps = 1e-5) {
    super();
    this.weight = Parameter.of(hostArray('float32', [dim], new Float32Array(dim).fill(1)));
    this.bias = Parameter.of(hostArray('float32', [dim], new Float32Array(dim)));
  }

  forward(x: Tensor): Tensor {
    return x.layerNorm(this.weight, this.bias, this.eps);
  }
}
