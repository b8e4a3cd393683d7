import { configError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Global-norm gradient clipping as torch.nn.utils.clip_grad_norm_: total = √Σ‖g‖²,
 * coef = min(1, maxNorm / (total + 1e-6)), every gradient scaled by coef. Returns the scaled
 * gradients and the pre-clipping norm.
 */
export function clipGradNorm(grads: readonly Tensor[], maxNorm: number): { grads: Tensor[]; norm: Tensor } {
  const norm = globalNorm(grads);
  const coef = norm.add(1e-6).reciprocal().mul(maxNorm).minimum(1);
  return { grads: grads.map((g) => g.mul(coef)), norm };
}

/** √Σ‖g‖² over a list of tensors. */
export function globalNorm(grads: readonly Tensor[]): Tensor {
  let total: Tensor | null = null;
  for (const g of grads) {
    const s = g.square().sum();
    total = total === null ? s : total.add(s);
  }
  if (total === null) throw configError('globalNorm: no gradients to clip (is every parameter frozen?)');
  return total.sqrt();
}
