import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { f32Matrix } from '../../src/linalg/engine.js';
import { reconstruct } from '../../src/linalg/randomized-svd.js';
import { truncatedSvd } from '../../src/linalg/truncated-svd.js';
import { Linear } from '../../src/nn/linear.js';
import { distill } from '../../src/rank/distill.js';
import { checkRank, compressionRatio, lowRankForward, lowRankParameters, LowRankLinear, svdFactors, toLowRank } from '../../src/rank/low-rank-linear.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { assertFails, lowRankOutputs, lowRankRows, randomLayer } from './helpers.js';

describe('LowRankLinear', () => {
  it('names its parameters like nn.Linear pairs and counts r·(in + out) + out of them', () => {
    const m = new LowRankLinear(12, 10, 3, new Rng(1));
    assert.deepEqual(m.namedParameters().map(([n, p]) => [n, [...p.shape]]), [
      ['a.weight', [3, 12]],
      ['b.weight', [10, 3]],
      ['b.bias', [10]],
    ]);
    assert.equal(m.numParameters(), 3 * 22 + 10);
    // The published configuration: Linear(1280, 1280) at rank 64 is 1.64M -> 0.165M parameters (9.9x).
    const f = { inFeatures: 1280, outFeatures: 1280, rank: 64, a: new Float32Array(64 * 1280), b: new Float32Array(1280 * 64), bias: new Float32Array(1280) };
    assert.equal(lowRankParameters(f), 165120);
    const ratio = compressionRatio({ inFeatures: 1280, outFeatures: 1280, weight: new Float32Array(1280 * 1280), bias: new Float32Array(1280) }, f);
    assert.equal(ratio.toFixed(2), '9.93');
  });

  it('forward is (x·Aᵀ)·Bᵀ + b: module, factor forward and a float64 reference agree', async () => {
    const f = svdFactors(await truncatedSvd(f32Matrix(7, 9, randomLayer(9, 7, 2).weight), { rank: 3, method: 'gram' }), 3, new Rng(3).normalArray(7));
    const x = lowRankRows(5, 9, 4, 4);
    const xt = Tensor.from(x.data, [5, 9]);
    const viaModule = (await LowRankLinear.fromFactors(f).forward(xt).toArray()) as Float32Array;
    const viaFactors = (await lowRankForward(f, xt).toArray()) as Float32Array;
    assert.deepEqual(Array.from(viaModule), Array.from(viaFactors), 'same graph, same numbers');
    const ref = lowRankOutputs(f, x);
    viaFactors.forEach((v, i) => assert.ok(Math.abs(v - (ref[i] as number)) < 1e-5, `y[${i}] ${v} vs ${ref[i]}`));
  });

  it('rank must satisfy 1 <= r < min(in, out)', () => {
    assertFails(() => checkRank(8, 8, 10, '--rank'), 'config', '--rank 8', 'min(d_in, d_out) = 8');
    assertFails(() => checkRank(0, 8, 10), 'config', 'rank 0');
    assertFails(() => new LowRankLinear(4, 4, 4), 'config', 'rank 4');
    assert.doesNotThrow(() => checkRank(7, 8, 10));
  });
});

describe('SVD warm start', () => {
  it('A = √S·Vᵀ and B = U·√S multiply back to the truncated SVD U·S·Vᵀ exactly (to float32)', async () => {
    const w = randomLayer(20, 16, 5);
    const svd = await truncatedSvd(f32Matrix(16, 20, w.weight), { rank: 6, method: 'gram' });
    const f = svdFactors(svd, 6, w.bias);
    const usv = reconstruct(svd, 6);
    let worst = 0;
    for (let o = 0; o < 16; o++) {
      for (let i = 0; i < 20; i++) {
        let ba = 0;
        for (let j = 0; j < 6; j++) ba += (f.b[o * 6 + j] as number) * (f.a[j * 20 + i] as number);
        worst = Math.max(worst, Math.abs(ba - (usv.data[o * 20 + i] as number)));
      }
    }
    assert.ok(worst < 1e-6, `max |B·A − U·S·Vᵀ| = ${worst}`);
    // √S is shared evenly: every row of A and column of B has norm √σ_j.
    for (let j = 0; j < 6; j++) {
      let na = 0;
      for (let i = 0; i < 20; i++) na += (f.a[j * 20 + i] as number) ** 2;
      assert.ok(Math.abs(Math.sqrt(na) - Math.sqrt(svd.s[j] as number)) < 1e-5);
    }
    assert.deepEqual(Array.from(f.bias), Array.from(w.bias), 'teacher bias kept');
  });

  it('a student that takes no steps is the SVD baseline, bit for bit', async () => {
    const w = randomLayer(10, 10, 6);
    const init = svdFactors(await truncatedSvd(f32Matrix(10, 10, w.weight), { rank: 3, method: 'gram' }), 3, w.bias);
    const x = lowRankRows(20, 10, 3, 7);
    const r = await distill(init, x, new Float32Array(20 * 10), { steps: 0, batchSize: 4, lr: 1e-3, weightDecay: 0.01, cosineWeight: 0.1, schedule: 'constant', rng: new Rng(1) });
    assert.deepEqual(Array.from(r.factors.a), Array.from(init.a));
    assert.deepEqual(Array.from(r.factors.b), Array.from(init.b));
    assert.deepEqual(Array.from(r.factors.bias), Array.from(init.bias));
  });

  it('toLowRank swaps an nn Linear for its rank-r SVD factorisation', async () => {
    const lin = new Linear(12, 9, { rng: new Rng(8) });
    const low = await toLowRank(lin, 4);
    assert.equal(low.rank, 4);
    const x = Tensor.from(new Rng(9).normalArray(3 * 12), [3, 12]);
    const dense = (await lin.forward(x).toArray()) as Float32Array;
    const approx = (await low.forward(x).toArray()) as Float32Array;
    const full = await toLowRank(lin, 8);
    const better = (await full.forward(x).toArray()) as Float32Array;
    const err = (y: Float32Array): number => y.reduce((s, v, i) => s + (v - (dense[i] as number)) ** 2, 0);
    assert.ok(err(better) < err(approx), 'a higher rank approximates better');
    assertFails(() => new LowRankLinear(12, 9, 9), 'config', 'min(d_in, d_out) = 9');
  });
});
