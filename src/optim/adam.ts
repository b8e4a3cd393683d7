import { configError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Optimizer } from './optimizer.js';

/** Hyper-parameters of Adam / AdamW (PyTorch defaults). */
export interface AdamConfig {
  readonly betas?: readonly [number, number];
  readonly eps?: number;
  readonly weightDecay?: number;
}

function check(name: string, c: AdamConfig): Required<AdamConfig> {
  const betas = c.betas ?? [0.9, 0.999];
  const eps = c.eps ?? 1e-8;
  const weightDecay = c.weightDecay ?? (name === 'adamw' ? 0.01 : 0);
  if (!(betas[0] >= 0 && betas[0] < 1 && betas[1] >= 0 && betas[1] < 1)) throw configError(`${name}: betas must be in [0, 1), got [${betas.join(', ')}]`);
  if (!(eps > 0)) throw configError(`${name}: eps must be > 0, got ${eps}`);
  if (!(weightDecay >= 0)) throw configError(`${name}: weight decay must be >= 0, got ${weightDecay}`);
  return { betas, eps, weightDecay };
}

/**
 * Adam (Kingma & Ba, https://arxiv.org/abs/1412.6980) with PyTorch semantics. `decoupled` gives
 * AdamW (Loshchilov & Hutter, https://arxiv.org/abs/1711.05101): p ← p·(1 − lr·wd) before the
 * Adam step; otherwise weight decay is L2 added to the gradient (torch.optim.Adam).
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + eps)
 *
 * The state holds the discounted sums M = Σ β1^(t−i)·g_i = m/(1−β1) (`grad_sum`) and
 * V = Σ β2^(t−i)·g_i² = v/(1−β2) (`grad_sq_sum`), so each moment update is one multiply and one
 * add (M ← β1·M + g) — two passes over every parameter fewer than the textbook form, on a step
 * that is bound by memory traffic. PyTorch's exp_avg and exp_avg_sq are (1−β1)·M and (1−β2)·V.
 * The constant factors and the step size go into the denominator's two scalars:
 *   s·m / (√v·c + eps) = M / (√V·d + e),  with s = lr/(1−β1ᵗ), c = 1/√(1−β2ᵗ),
 *   d = √(1−β2)·c / (s·(1−β1)),  e = eps / (s·(1−β1)).
 * At s = 0 (lr 0, e.g. the first warmup step) the scalars (0, ∞) make the denominator ∞ and the update exactly 0.
 */
function adamFamily(name: 'adam' | 'adamw', cfg: AdamConfig): Optimizer {
  const { betas, eps, weightDecay } = check(name, cfg);
  const [b1, b2] = betas;
  return {
    name,
    stateSlots: ['grad_sum', 'grad_sq_sum'],
    scalarNames: ['decay', 'denom_scale', 'denom_eps'],
    scalars: (t, lr) => {
      const size = (lr / (1 - Math.pow(b1, t))) * (1 - b1);
      const c = Math.sqrt(1 - b2) / Math.sqrt(1 - Math.pow(b2, t));
      return [name === 'adamw' ? 1 - lr * weightDecay : 1, size === 0 ? 0 : c / size, size === 0 ? Infinity : eps / size];
    },
    update: (p, g0, [m0, v0], s) => {
      let g = g0;
      let p1 = p;
      if (name === 'adamw' && weightDecay !== 0) p1 = p.mul(s.decay as Tensor);
      if (name === 'adam' && weightDecay !== 0) g = g.add(p.mul(weightDecay));
      const m = (m0 as Tensor).mul(b1).add(g);
      const v = (v0 as Tensor).mul(b2).add(g.square());
      const denom = v.sqrt().mul(s.denom_scale as Tensor).add(s.denom_eps as Tensor);
      return { param: p1.sub(m.div(denom)), state: [m, v] };
    },
  };
}

/** AdamW with decoupled weight decay (default weight decay 0.01, as PyTorch). */
export function adamw(cfg: AdamConfig = {}): Optimizer {
  return adamFamily('adamw', cfg);
}

/** Adam with L2 weight decay folded into the gradient (default 0). */
export function adam(cfg: AdamConfig = {}): Optimizer {
  return adamFamily('adam', cfg);
}
