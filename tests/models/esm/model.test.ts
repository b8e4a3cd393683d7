import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noGrad } from '../../../src/autograd/mode.js';
import { isProtdistilError } from '../../../src/errors.js';
import { loadFairEsm } from '../../../src/io/esm/fair-esm.js';
import { loadHfEsm } from '../../../src/io/esm/hugging-face.js';
import { ESM1B_T33_650M, ESM2_T6_8M, ESM_PRESETS, parseEsmConfig, STUDENT_LARGE } from '../../../src/models/esm/config.js';
import { Esm1b } from '../../../src/models/esm/esm1b.js';
import { Esm2 } from '../../../src/models/esm/esm2.js';
import { createEsmModel, resolveReprLayers } from '../../../src/models/esm/model.js';
import { exportEsmOnnx } from '../../../src/models/esm/onnx.js';
import { rotaryInvFreq } from '../../../src/nn/functional/rotary.js';
import { OnnxModel } from '../../../src/runtime/onnx-model.js';
import { Rng } from '../../../src/tensor/random.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { checkpointPaths, deviation, nonPad, refArray } from './fixtures.js';

test('presets: published sizes and students', () => {
  const sizes = Object.fromEntries(Object.entries(ESM_PRESETS).map(([k, c]) => [k, [c.arch, c.numLayers, c.embedDim, c.attentionHeads, c.ffnDim]]));
  assert.deepEqual(sizes, {
    esm2_t6_8M: ['esm2', 6, 320, 20, 1280],
    esm2_t12_35M: ['esm2', 12, 480, 20, 1920],
    esm2_t30_150M: ['esm2', 30, 640, 20, 2560],
    esm2_t33_650M: ['esm2', 33, 1280, 20, 5120],
    esm2_t36_3B: ['esm2', 36, 2560, 40, 10240],
    esm1b_t33_650M: ['esm1b', 33, 1280, 20, 5120],
    'student-s': ['esm1b', 8, 128, 2, 256],
    'student-m': ['esm1b', 10, 256, 4, 512],
    'student-l': ['esm1b', 28, 384, 6, 768],
    'esm2-8m': ['esm2', 6, 320, 20, 1280],
    'esm2-35m': ['esm2', 12, 480, 20, 1920],
    small: ['esm2', 8, 128, 2, 512],
    medium: ['esm2', 10, 256, 4, 1024],
    large: ['esm2', 28, 384, 6, 1536],
  });
  assert.ok(Object.isFrozen(ESM2_T6_8M) && Object.isFrozen(STUDENT_LARGE));
  assert.equal(ESM1B_T33_650M.embLayerNormBefore, true);
  const m = createEsmModel(parseEsmConfig({ arch: 'esm1b', numLayers: 1, embedDim: 8, attentionHeads: 2, ffnDim: 16, tokenDropout: true }), new Rng(1));
  assert.ok(m instanceof Esm1b);
  assert.deepEqual(m.embedPositions.weight.shape, [1026, 8]);
});

test('representation layers: negative indices count from the end, as extract.py', () => {
  assert.deepEqual(resolveReprLayers([-1], 33), [33]);
  assert.deepEqual(resolveReprLayers([0, 32, 33, -34, -1], 33), [0, 32, 33]);
  for (const bad of [34, -35, 1.5]) {
    assert.throws(() => resolveReprLayers([bad], 33), (e) => isProtdistilError(e, 'config') && /out of range/.test(e.message));
  }
});

test('ESM-1b rejects more tokens than learned positions; contacts need the regression weights', () => {
  const m = new Esm1b(parseEsmConfig({ arch: 'esm1b', numLayers: 1, embedDim: 8, attentionHeads: 2, ffnDim: 16, tokenDropout: true, maxPositions: 6 }), new Rng(1));
  assert.throws(() => m.forward(Tensor.from(new Array(7).fill(5), [1, 7], 'int64')), /7 tokens exceed the 6 learned positions/);
  const e2 = new Esm2(parseEsmConfig({ arch: 'esm2', numLayers: 1, embedDim: 8, attentionHeads: 2, ffnDim: 16, tokenDropout: true }), new Rng(1));
  assert.equal(e2.contactHead, null);
  assert.throws(() => e2.forward(Tensor.from([0, 5, 2], [1, 3], 'int64'), { returnContacts: true }), /contact head weights/);
  assert.throws(() => e2.forward(Tensor.from([0, 5, 2], [1, 3], 'int64'), { reprLayers: [2] }), /outside \[0, 1\]/);
});

/** Worst ratio of the logits error to the fixture threshold. */
async function logitsRatio(model: Esm2 | Esm1b, name: 'esm2_t3_tiny' | 'esm1b_t3_tiny', batch: 'masked' | 'long'): Promise<number> {
  const tokens = refArray(name, batch, 'tokens');
  const out = noGrad(() => model.forward(Tensor.fromHost(tokens)));
  const ref = refArray(name, batch, 'logits');
  return deviation((await out.logits.toArray()) as Float32Array, ref.data as Float32Array, nonPad(tokens, 33)).ratio;
}

test('the parity check can fail: known mistakes exceed the fixture tolerance', async () => {
  // Recomputing ESM-2 rotary frequencies instead of using the stored float16-rounded ones.
  const e2 = loadFairEsm(checkpointPaths('esm2_t3_tiny').pt).model as Esm2;
  assert.ok((await logitsRatio(e2, 'esm2_t3_tiny', 'long')) <= 1);
  for (const l of e2.layers) l.selfAttn.setInvFreq(rotaryInvFreq(8));
  assert.ok((await logitsRatio(e2, 'esm2_t3_tiny', 'long')) > 1, 'nominal inv_freq must be caught');
  // A non-zero ESM-1b <mask> row (fair-esm zeroes it on load): the model reads its token table with
  // that row zeroed, so a stored value changes nothing; without that product the logits go off.
  const e1 = loadHfEsm(checkpointPaths('esm1b_t3_tiny').hf).model as Esm1b;
  assert.ok((await logitsRatio(e1, 'esm1b_t3_tiny', 'masked')) <= 1);
  const w = e1.embedTokens.weight.node.realized as Float32Array;
  w.fill(0.5, 32 * 48, 33 * 48);
  assert.ok((await logitsRatio(e1, 'esm1b_t3_tiny', 'masked')) <= 1, 'a non-zero stored <mask> row must not reach the outputs');
});

test('ONNX export (logits + last representation, symbolic batch and length) runs in onnxruntime with fair-esm outputs', async () => {
  for (const name of ['esm2_t3_tiny', 'esm1b_t3_tiny'] as const) {
    const model = loadFairEsm(checkpointPaths(name).pt).model;
    const onnx = await OnnxModel.load(exportEsmOnnx(model));
    assert.deepEqual(onnx.inputNames, ['tokens']);
    assert.deepEqual(onnx.outputNames, ['logits', 'representations']);
    for (const batch of ['main', 'masked'] as const) {
      const tokens = refArray(name, batch, 'tokens');
      const out = await onnx.run({ tokens });
      const T = tokens.shape[1] as number;
      assert.deepEqual(out.logits?.shape, [4, T, 33]);
      const dl = deviation(out.logits?.data as Float32Array, refArray(name, batch, 'logits').data as Float32Array, nonPad(tokens, 33));
      const dr = deviation(out.representations?.data as Float32Array, refArray(name, batch, 'repr_layer_3').data as Float32Array, nonPad(tokens, 48));
      assert.ok(dl.ratio <= 1 && dr.ratio <= 1, `${name} ${batch}: logits ${dl.ratio}, repr ${dr.ratio}`);
    }
  }
});
