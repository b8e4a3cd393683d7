import { test } from 'node:test';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import { exportOnnx } from '../../src/export/onnx-export.js';
import { parseEsmConfig } from '../../src/models/esm/config.js';
import { Esm2 } from '../../src/models/esm/esm2.js';
import { gelu } from '../../src/nn/functional/activations.js';
import { LayerNorm } from '../../src/nn/layer-norm.js';
import { Linear } from '../../src/nn/linear.js';
import { OnnxModel } from '../../src/runtime/onnx-model.js';
import { hostArray } from '../../src/tensor/host-array.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/numeric.js';

// Exported models are standalone (weights embedded) with symbolic dims: they must load in
// onnxruntime-node and match the engine's own outputs at sizes other than the trace sizes.

test('an MLP exports with a symbolic batch dim and matches the engine at several batch sizes', async () => {
  const rng = new Rng(3);
  const fc1 = new Linear(16, 32, { rng });
  const ln = new LayerNorm(32);
  const fc2 = new Linear(32, 8, { rng });
  const f = (x: Tensor): Tensor => fc2.forward(ln.forward(gelu(fc1.forward(x))));
  const bytes = exportOnnx(([x]) => [f(x!)], [{ name: 'x', dtype: 'float32', dims: ['batch', 16] }], { outputNames: ['y'] });
  // Declared output dims: the batch stays symbolic, the feature dim is fixed.
  const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: { ModelProto: { decode(b: Uint8Array): { graph: { output: { type: { tensorType: { shape: { dim: { dimParam?: string; dimValue?: number | { toNumber(): number } }[] } } } }[] } } } } };
  const dims = onnx.ModelProto.decode(bytes).graph.output[0]!.type.tensorType.shape.dim.map((d) => d.dimParam || Number(d.dimValue));
  assert.deepEqual(dims, ['batch', 8]);
  const model = await OnnxModel.load(bytes);
  assert.deepEqual(model.inputNames, ['x']);
  assert.deepEqual(model.outputNames, ['y']);
  for (const b of [1, 4, 9]) {
    const x = rng.normalArray(b * 16);
    const ours = (await f(Tensor.from(x, [b, 16])).toArray()) as Float32Array;
    const out = await model.run({ x: hostArray('float32', [b, 16], x) });
    assert.deepEqual(out.y?.shape, [b, 8]);
    assertClose(out.y?.data as Float32Array, ours, { atol: 1e-5, rtol: 1e-5 }, `batch ${b}`);
  }
});

test('an ESM-2 model exports with symbolic batch and length and matches the engine on padded batches', async () => {
  const cfg = parseEsmConfig({ arch: 'esm2', numLayers: 2, embedDim: 32, attentionHeads: 4, ffnDim: 64, tokenDropout: true });
  const model = new Esm2(cfg, new Rng(5));
  const bytes = exportOnnx(
    ([tokens]) => {
      const o = model.forward(tokens!, { reprLayers: [cfg.numLayers] });
      return [o.logits, o.representations.get(cfg.numLayers) as Tensor];
    },
    [{ name: 'tokens', dtype: 'int64', dims: ['batch', 'length'] }],
    { outputNames: ['logits', 'representations'] },
  );
  const onnx = await OnnxModel.load(bytes);
  const rng = new Rng(8);
  for (const [b, t] of [[2, 9], [3, 20], [1, 6]] as const) {
    // BOS, residues (some masked), EOS, right padding for shorter rows.
    const toks = new BigInt64Array(b * t).fill(1n);
    for (let i = 0; i < b; i++) {
      const len = t - 2 - (i % 2) * 2;
      toks[i * t] = 0n;
      for (let j = 1; j <= len; j++) toks[i * t + j] = BigInt(rng.uniform() < 0.1 ? 32 : 4 + rng.int(20));
      toks[i * t + len + 1] = 2n;
    }
    const ours = model.forward(Tensor.from(toks, [b, t], 'int64'), { reprLayers: [cfg.numLayers] });
    const logits = (await ours.logits.toArray()) as Float32Array;
    const out = await onnx.run({ tokens: hostArray('int64', [b, t], toks) });
    assert.deepEqual(out.logits?.shape, [b, t, 33]);
    assertClose(out.logits?.data as Float32Array, logits, { atol: 2e-5, rtol: 2e-5 }, `logits (${b}, ${t})`);
    const rep = (await (ours.representations.get(cfg.numLayers) as Tensor).toArray()) as Float32Array;
    assertClose(out.representations?.data as Float32Array, rep, { atol: 2e-5, rtol: 2e-5 }, `representations (${b}, ${t})`);
  }
});
