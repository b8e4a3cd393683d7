import type { Tensor } from '../../tensor/tensor.js';

/**
 * Cosine similarity along an axis: x·y / sqrt(max(‖x‖²·‖y‖², eps²)) (PyTorch's
 * `cosine_similarity` formula).
 */
export function cosineSimilarity(x: Tensor, y: Tensor, axis = -1, eps = 1e-8): Tensor {
  const dot = x.mul(y).sum(axis);
  const nn = x.square().sum(axis).mul(y.square().sum(axis));
  return dot.div(nn.maximum(eps * eps).sqrt());
}
