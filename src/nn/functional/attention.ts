import { shapeError } from '../../errors.js';
import { fmtShape } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';

/** Options for scaled dot-product attention. */
export interface AttentionOptions {
  /** (B, Tk) bool, true at padding keys; those keys get zero attention. */
  readonly keyPaddingMask?: Tensor;
  /** Score scale; default 1/√Dh. Pass 1 when q is already scaled (as fair-esm does). */
  readonly scale?: number;
}

/**
 * softmax(q·kᵀ·scale, masked) · v (Vaswani et al., https://arxiv.org/abs/1706.03762).
 * q: (B, H, Tq, Dh), k and v: (B, H, Tk, Dh). Returns the output (B, H, Tq, Dh) and the
 * attention probabilities (B, H, Tq, Tk). Every query row must keep at least one key.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): { out: Tensor; probs: Tensor } {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw shapeError('attention', `q, k, v must be (B, H, T, Dh); got ${fmtShape(q.shape)}, ${fmtShape(k.shape)}, ${fmtShape(v.shape)}`);
  }
  const dh = q.shape[3] as number;
  const scale = opts.scale ?? 1 / Math.sqrt(dh);
  let scores = q.matmul(k.mT); // (B, H, Tq, Dh) @ (B, H, Dh, Tk) -> (B, H, Tq, Tk)
  if (scale !== 1) scores = scores.mul(scale);
  const mask = opts.keyPaddingMask;
  if (mask !== undefined) {
    const [b, tk] = [k.shape[0] as number, k.shape[2] as number];
    if (mask.dtype !== 'bool' || mask.rank !== 2 || mask.shape[0] !== b || mask.shape[1] !== tk) {
      throw shapeError('attention', `keyPaddingMask must be bool (B=${b}, Tk=${tk}), got ${mask.dtype} ${fmtShape(mask.shape)}`);
    }
    // An additive bias (0 or −∞) built on the small (B, Tk) mask: adding it equals masked_fill(−∞)
    // and is much faster than a broadcast Where over (B, H, Tq, Tk), forward and backward.
    const bias = mask.where(Tensor.constant([-Infinity]), Tensor.constant([0])).reshape([b, 1, 1, tk]); // (B, Tk) -> (B, 1, 1, Tk)
    scores = scores.add(bias);
  }
  const probs = scores.softmax(-1);
  return { out: probs.matmul(v), probs }; // (B, H, Tq, Tk) @ (B, H, Tk, Dh) -> (B, H, Tq, Dh)
}
