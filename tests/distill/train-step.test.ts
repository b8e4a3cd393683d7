import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IGNORE_INDEX } from '../../src/data/masking.js';
import { MlmStream } from '../../src/data/mlm-stream.js';
import type { SequenceSet } from '../../src/data/sequence-set.js';
import { encode } from '../../src/data/tokenizer.js';
import { LiveTeacher } from '../../src/distill/teacher.js';
import { mlmTrainStep } from '../../src/distill/train-run.js';
import { parseEsmConfig } from '../../src/models/esm/config.js';
import { initEsmWeights } from '../../src/models/esm/init.js';
import { createEsmModel } from '../../src/models/esm/model.js';
import { constantSchedule } from '../../src/optim/schedules.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { randomProteins } from './helpers.js';

const seqs = randomProteins(16, 9, 10, 40);
const set: SequenceSet = { source: 'test', labels: seqs.map((_, i) => `p${i}`), ids: seqs.map((s) => Uint8Array.from(encode(s))), residues: 0 };
const batch = new MlmStream(set, { seed: 2, crop: 30, batchSize: 6, maskProb: 0.3 }).batch(0, 0);

/** log-softmax of a row in float64. */
function logSoftmax(z: ArrayLike<number>, t: number): number[] {
  const x = Array.from(z, (v) => v / t);
  const m = Math.max(...x);
  const lse = m + Math.log(x.reduce((a, v) => a + Math.exp(v - m), 0));
  return x.map((v) => v - lse);
}

/** (1 − λ)·CE + λ·T²·KL(teacher_T ‖ student_T) over targets ≠ −100, from host logits. */
function reference(zs: Float32Array, zt: Float32Array, lambda: number, T: number): { loss: number; ce: number; kd: number } {
  const V = 33;
  let ce = 0;
  let kd = 0;
  let n = 0;
  batch.targets.data.forEach((y, i) => {
    if (Number(y) === IGNORE_INDEX) return;
    const s1 = logSoftmax(zs.subarray(i * V, (i + 1) * V), 1);
    ce -= s1[Number(y)]!;
    const sT = logSoftmax(zs.subarray(i * V, (i + 1) * V), T);
    const tT = logSoftmax(zt.subarray(i * V, (i + 1) * V), T);
    kd += tT.reduce((a, lt, v) => a + Math.exp(lt) * (lt - sT[v]!), 0);
    n++;
  });
  ce /= n;
  kd /= n;
  return { loss: (1 - lambda) * ce + lambda * T * T * kd, ce, kd };
}

test('the distillation step reports (1-λ)·CE + λ·T²·KL on masked positions, computed independently', async () => {
  const student = createEsmModel(parseEsmConfig({ arch: 'esm1b', numLayers: 2, embedDim: 16, attentionHeads: 2, ffnDim: 32, tokenDropout: false, maxPositions: 1024, embLayerNormBefore: true }), new Rng(1));
  initEsmWeights(student, new Rng(2));
  const teacher = createEsmModel(parseEsmConfig({ arch: 'esm2', numLayers: 2, embedDim: 24, attentionHeads: 2, ffnDim: 48, tokenDropout: true }), new Rng(3));
  const live = await LiveTeacher.fromModel(teacher, 'random teacher', 'test');
  const zt = await live.logits(batch);
  const tokens = Tensor.fromHost(batch.tokens);
  const zs = (await student.forward(tokens).logits.toArray()) as Float32Array;
  // The live teacher (an exported ONNX session) equals the engine forward of the same model.
  const ztEngine = (await teacher.forward(tokens).logits.toArray()) as Float32Array;
  (zt.data as Float32Array).forEach((x, i) => assert.ok(Math.abs(x - ztEngine[i]!) < 1e-5, `teacher logit ${i}`));
  for (const [lambda, T] of [[0.5, 2], [0.5, 1], [0, 1]] as const) {
    const s2 = createEsmModel(student.config, new Rng(1));
    s2.loadStateDict(student.stateDict());
    const step = mlmTrainStep(s2, { lambda, temperature: T, weightDecay: 0.01, schedule: constantSchedule({ peak: 1e-3 }) });
    const r = await step.run(lambda === 0 ? [batch.tokens, batch.targets] : [batch.tokens, batch.targets, zt]);
    const want = reference(zs, zt.data as Float32Array, lambda, T);
    assert.ok(Math.abs(r.loss - want.loss) < 1e-5 * Math.max(1, want.loss), `λ=${lambda} T=${T}: loss ${r.loss} vs ${want.loss}`);
    if (lambda > 0) {
      assert.ok(Math.abs(r.metrics.ce! - want.ce) < 1e-5 * want.ce, `ce ${r.metrics.ce} vs ${want.ce}`);
      assert.ok(Math.abs(r.metrics.kd! - want.kd) < 1e-5 * Math.max(want.kd, 1e-3), `kd ${r.metrics.kd} vs ${want.kd}`);
    }
  }
});

test('the ESM-1b <mask> embedding row stays zero through training, so a saved student reloads exactly', async () => {
  const cfg = parseEsmConfig({ arch: 'esm1b', numLayers: 1, embedDim: 16, attentionHeads: 2, ffnDim: 32, tokenDropout: false, maxPositions: 1024, embLayerNormBefore: true });
  const m = createEsmModel(cfg, new Rng(5));
  initEsmWeights(m, new Rng(6));
  const step = mlmTrainStep(m, { lambda: 0, temperature: 1, weightDecay: 0.01, schedule: constantSchedule({ peak: 1e-2 }) });
  for (let i = 0; i < 3; i++) await step.run([batch.tokens, batch.targets]);
  const w = m.embedTokens.weight.node.realized as Float32Array;
  assert.ok(w.subarray(32 * 16, 33 * 16).every((x) => x === 0), '<mask> row');
  assert.ok(w.subarray(5 * 16, 6 * 16).some((x) => x !== 0), 'other rows train');
});
