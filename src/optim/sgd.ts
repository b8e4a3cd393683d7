import { configError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Optimizer } from './optimizer.js';

/** Hyper-parameters of SGD (PyTorch semantics, dampening 0). */
export interface SgdConfig {
  readonly momentum?: number;
  readonly weightDecay?: number;
  readonly nesterov?: boolean;
}

/**
 * SGD with momentum as torch.optim.SGD: g ← g + wd·p; b ← μ·b + g (b₁ = g); p ← p − lr·b
 * (Nesterov: p ← p − lr·(g + μ·b)). With zero-initialised b the first step equals b₁ = g.
 */
export function sgd(cfg: SgdConfig = {}): Optimizer {
  const mu = cfg.momentum ?? 0;
  const wd = cfg.weightDecay ?? 0;
  if (!(mu >= 0)) throw configError(`sgd: momentum must be >= 0, got ${mu}`);
  if (!(wd >= 0)) throw configError(`sgd: weight decay must be >= 0, got ${wd}`);
  if (cfg.nesterov === true && mu === 0) throw configError('sgd: nesterov needs momentum > 0');
  return {
    name: 'sgd',
    stateSlots: mu === 0 ? [] : ['momentum_buffer'],
    scalarNames: ['lr'],
    scalars: (_t, lr) => [lr],
    update: (p, g0, state, s) => {
      const g = wd === 0 ? g0 : g0.add(p.mul(wd));
      if (mu === 0) return { param: p.sub(g.mul(s.lr as Tensor)), state: [] };
      const b = (state[0] as Tensor).mul(mu).add(g);
      const dir = cfg.nesterov === true ? g.add(b.mul(mu)) : b;
      return { param: p.sub(dir.mul(s.lr as Tensor)), state: [b] };
    },
  };
}
