import { Embedding } from '../../nn/embedding.js';
import { LayerNorm } from '../../nn/layer-norm.js';
import { Linear } from '../../nn/linear.js';
import type { Rng } from '../../tensor/random.js';
import type { EsmModel } from './model.js';

/** Standard deviation of the normal init (HF `EsmConfig.initializer_range`). */
export const ESM_INIT_STD = 0.02;

/**
 * Re-initialises a freshly built ESM model as Hugging Face `EsmPreTrainedModel._init_weights` does
 * (transformers `models/esm/modeling_esm.py`): every Linear weight and Embedding table ~ N(0, 0.02²)
 * with zero biases and a zero padding row, LayerNorm weight 1 and bias 0, LM-head bias 0. PyTorch's
 * own defaults (N(0, 1) embeddings, kaiming-uniform linears) start MLM training with losses of
 * 30-60 nats through the tied decoder; this init starts near ln(33).
 *
 * Draws happen in parameter order (modules in field order), so a seed fixes the model.
 */
export function initEsmWeights(model: EsmModel, rng: Rng): void {
  const pad = model.config.paddingIdx;
  for (const [, m] of model.namedModules()) {
    if (m instanceof Linear) {
      m.weight.assign(rng.normalArray(m.weight.size, 0, ESM_INIT_STD));
      m.bias?.assign(new Float32Array(m.bias.size));
    } else if (m instanceof Embedding) {
      const w = rng.normalArray(m.weight.size, 0, ESM_INIT_STD);
      w.fill(0, pad * m.dim, (pad + 1) * m.dim);
      m.weight.assign(w);
    } else if (m instanceof LayerNorm) {
      m.weight.assign(new Float32Array(m.dim).fill(1));
      m.bias.assign(new Float32Array(m.dim));
    }
  }
  model.lmHead.bias.assign(new Float32Array(model.lmHead.bias.size));
  // fair-esm's ESM-1b loader zeroes the `<mask>` embedding; ESM-1b models start (and stay) that way.
  if (model.config.arch === 'esm1b') {
    const w = model.embedTokens.weight.node.realized as Float32Array;
    w.fill(0, model.config.maskIdx * model.config.embedDim, (model.config.maskIdx + 1) * model.config.embedDim);
  }
}
