import { exportOnnx } from '../../export/onnx-export.js';
import { withOnnxMetadata } from '../../runtime/onnx-metadata.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { EsmModel } from './model.js';

/**
 * Exports an ESM model to a standalone ONNX model: input `tokens` int64 (batch, length), outputs
 * `logits` (batch, length, 33) and `representations` (batch, length, E), the final-LN output.
 * Weights are embedded; batch and length stay symbolic (up to `maxTokens`, default 1024 — ESM-1b
 * cannot go further). Token dropout and padding follow the ESM spec, so onnxruntime gives the
 * engine's outputs for any right-padded batch. The model's config travels in the ONNX metadata
 * (`protdistil.esm_config`), so `protdistil extract` accepts the file as a model.
 */
export function exportEsmOnnx(model: EsmModel, opts: { maxTokens?: number } = {}): Uint8Array {
  model.reserveLength(opts.maxTokens ?? 1024);
  const L = model.config.numLayers;
  const bytes = exportOnnx(
    ([tokens]) => {
      const o = model.forward(tokens as Tensor, { reprLayers: [L] });
      return [o.logits, o.representations.get(L) as Tensor];
    },
    [{ name: 'tokens', dtype: 'int64', dims: ['batch', 'length'] }],
    { outputNames: ['logits', 'representations'], graphName: model.config.arch === 'esm2' ? 'esm2' : 'esm1b' },
  );
  return withOnnxMetadata(bytes, { [ESM_CONFIG_KEY]: JSON.stringify(model.config) });
}

/** Metadata key holding the exported model's ESM config (JSON), so `extract` can run the file. */
export const ESM_CONFIG_KEY = 'protdistil.esm_config';
