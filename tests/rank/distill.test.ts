import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { f32Matrix } from '../../src/linalg/engine.js';
import { truncatedSvd } from '../../src/linalg/truncated-svd.js';
import { closedFormFactors, inputStats, outputBasis } from '../../src/rank/closed-form.js';
import { denseForward, mapRows } from '../../src/rank/dense-layer.js';
import { distill, distillLoss } from '../../src/rank/distill.js';
import { lowRankForward, svdFactors } from '../../src/rank/low-rank-linear.js';
import { fidelity } from '../../src/rank/metrics.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { lowRankRows, randomLayer } from './helpers.js';

describe('distillation', () => {
  it('loss = MSE + λ·(1 − mean cosine), by hand', async () => {
    // Rows: pred (1, 0) vs target (1, 1): cos 1/√2, squared error 1; pred (0, 2) vs (0, 1): cos 1, error 1.
    const { loss, metrics } = distillLoss(Tensor.from([1, 0, 0, 2], [2, 2]), Tensor.from([1, 1, 0, 1], [2, 2]), 0.1);
    const cos = (Math.SQRT1_2 + 1) / 2;
    assert.ok(Math.abs((await loss.item()) - (0.5 + 0.1 * (1 - cos))) < 1e-6);
    assert.ok(Math.abs((await metrics.mse.item()) - 0.5) < 1e-7);
    assert.ok(Math.abs((await metrics.cosine.item()) - cos) < 1e-6);
  });

  it('improves on its SVD warm start, approaching the closed-form optimum, reproducibly', async () => {
    const d = 24;
    const x = lowRankRows(300, d, 5, 1, 0.02);
    const val = lowRankRows(100, d, 5, 1, 0.02);
    const teacher = randomLayer(d, d, 2);
    const y = await mapRows(x.data, x.rows, d, d, (t) => denseForward(teacher, t));
    const yVal = await mapRows(val.data, val.rows, d, d, (t) => denseForward(teacher, t));
    const init = svdFactors(await truncatedSvd(f32Matrix(d, d, teacher.weight), { rank: 4, method: 'gram' }), 4, teacher.bias);
    const opts = { steps: 400, batchSize: 32, lr: 1e-2, weightDecay: 0.01, cosineWeight: 0.1, schedule: 'constant' as const, rng: new Rng(3) };
    const r = await distill(init, x, y, opts);
    const relMse = async (f: typeof init, rows: typeof x, target: Float32Array): Promise<number> =>
      fidelity(await mapRows(rows.data, rows.rows, d, d, (t) => lowRankForward(f, t)), target, rows.rows, d).relMse;
    const stats = await inputStats(x);
    const optimum = closedFormFactors(teacher, await outputBasis(teacher, stats, 4, 'exact'), stats.mean, 4);
    const before = await relMse(init, val, yVal);
    const after = await relMse(r.factors, val, yVal);
    assert.ok(after < 0.05 * before, `validation relative MSE ${before} -> ${after}`);
    assert.ok(after < 1.5 * (await relMse(optimum, val, yVal)), 'close to the optimum on held-out rows');
    // On the training rows nothing beats the closed form.
    assert.ok((await relMse(r.factors, x, y)) >= (await relMse(optimum, x, y)) * (1 - 1e-4), 'closed form is optimal on the training rows');
    assert.equal(r.history.loss.length, 400);
    assert.ok(r.history.loss.every(Number.isFinite));
    assert.ok(r.trainMs >= r.compileMs);
    const again = await distill(init, x, y, { ...opts, rng: new Rng(3) });
    assert.deepEqual(Array.from(again.factors.a), Array.from(r.factors.a), 'same seed, same student');
  });
});
