import { Tensor } from '../../tensor/tensor.js';

/**
 * GELU, exact erf form: 0.5·x·(1 + erf(x/√2)) (Hendrycks & Gimpel, https://arxiv.org/abs/1606.08415).
 * One fused ONNX op forward; the backward is composed.
 */
export function gelu(x: Tensor): Tensor {
  return Tensor.op('gelu', [x], {});
}

/**
 * ReLU, as torch.relu: no gradient at x = 0 (max(x, 0) would pass half of it there). NaN stays NaN.
 */
export function relu(x: Tensor): Tensor {
  return x.lessEqual(0).where(0, x);
}
