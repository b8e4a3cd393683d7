import type { Tensor } from '../../tensor/tensor.js';

/** GELU, exact erf form: 0.5·x·(1 + erf(x/√2)) (Hendrycks & Gimpel, https://arxiv.org/abs/1606.08415). */
export function gelu(x: Tensor): Tensor {
  return x.mul(x.mul(Math.SQRT1_2).erf().add(1)).mul(0.5);
}

/** ReLU as max(x, 0). */
export function relu(x: Tensor): Tensor {
  return x.maximum(0);
}
