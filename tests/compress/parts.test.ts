import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchMomentOutputs, MomentAccumulator } from '../../src/compress/moments.js';
import { fitProjection, maxSavingRank, projectionParameters } from '../../src/compress/projection-fit.js';
import { allocateRanks } from '../../src/compress/rank-policy.js';
import { Linear } from '../../src/nn/linear.js';
import { closedFormFactors } from '../../src/rank/closed-form.js';
import { lowRankForward } from '../../src/rank/low-rank-linear.js';
import { fidelity } from '../../src/rank/metrics.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { assertFails } from '../rank/helpers.js';

/** Batches (B, T, D) with a large common offset and padded tail rows. */
function batches(seed: number, D: number): { x: Float32Array; keep: Float32Array; B: number; T: number }[] {
  const rng = new Rng(seed);
  return [[2, 5], [3, 4], [1, 7]].map(([B, T]) => {
    const x = new Float32Array(B! * T! * D);
    const keep = new Float32Array(B! * T!);
    for (let r = 0; r < B!; r++) {
      const n = T! - r; // row r has r pad positions at the end
      for (let t = 0; t < T!; t++) {
        keep[r * T! + t] = t < n ? 1 : 0;
        for (let j = 0; j < D; j++) x[(r * T! + t) * D + j] = t < n ? 100 + j + rng.normal() * (1 + j) : 1e6; // pads hold junk
      }
    }
    return { x, keep, B: B!, T: T! };
  });
}

describe('input moments', () => {
  it('batch-wise centred Grams merged in float64 equal the direct moments of the kept rows, pads ignored', async () => {
    const D = 4;
    const acc = new MomentAccumulator(D, 'test');
    const rows: number[][] = [];
    for (const [i, b] of batches(1, D).entries()) {
      const [s, g] = batchMomentOutputs(Tensor.from(b.x, [b.B, b.T, D]), Tensor.from(b.keep, [b.B, b.T]));
      const sum = { dtype: 'float32' as const, shape: [D], data: (await s.toArray()) as Float32Array };
      const gram = { dtype: 'float32' as const, shape: [D, D], data: (await g.toArray()) as Float32Array };
      acc.add(b.keep.reduce((a, v) => a + v, 0), sum, gram, `batch ${i}`);
      for (let k = 0; k < b.B * b.T; k++) if (b.keep[k] === 1) rows.push(Array.from(b.x.subarray(k * D, (k + 1) * D)));
    }
    const m = acc.result();
    assert.equal(m.rows, rows.length);
    const mean = Array.from({ length: D }, (_, j) => rows.reduce((a, r) => a + (r[j] as number), 0) / rows.length);
    mean.forEach((v, j) => assert.ok(Math.abs(v - (m.mean[j] as number)) < 1e-4, `mean ${j}`));
    for (let i = 0; i < D; i++) {
      for (let j = 0; j < D; j++) {
        const want = rows.reduce((a, r) => a + ((r[i] as number) - (mean[i] as number)) * ((r[j] as number) - (mean[j] as number)), 0);
        const got = m.gram.data[i * D + j] as number;
        assert.ok(Math.abs(got - want) <= 1e-4 * Math.abs(want) + 1e-3, `gram[${i},${j}] ${got} vs ${want}`);
      }
    }
  });

  it('non-finite activations are a data error naming the projection', () => {
    const acc = new MomentAccumulator(2, 'layers.1.fc2');
    const sum = { dtype: 'float32' as const, shape: [2], data: Float32Array.from([1, NaN]) };
    const gram = { dtype: 'float32' as const, shape: [2, 2], data: new Float32Array(4) };
    assertFails(() => acc.add(3, sum, gram, 'calibration batch 2'), 'data', 'non-finite activations at the input of layers.1.fc2', 'batch 2');
  });
});

describe('projection fits', () => {
  it('the cosine of every rank from one basis equals the cosine of the rank-r factors computed directly', async () => {
    const D = 6;
    const O = 5;
    const rng = new Rng(4);
    const lin = new Linear(D, O, { rng });
    const n = 60;
    const data = rng.normalArray(n * D, 0.5, 1);
    const acc = new MomentAccumulator(D, 'p');
    const [s, g] = batchMomentOutputs(Tensor.from(data, [1, n, D]), Tensor.from(new Float32Array(n).fill(1), [1, n]));
    acc.add(n, { dtype: 'float32', shape: [D], data: (await s.toArray()) as Float32Array }, { dtype: 'float32', shape: [D, D], data: (await g.toArray()) as Float32Array }, 'b');
    const fit = await fitProjection('p', lin, acc.result(), O, data);
    const y = (await lin.forward(Tensor.from(data, [n, D])).toArray()) as Float32Array;
    for (let r = 1; r <= O; r++) {
      const f = closedFormFactors(fit.teacher, fit.basis, fit.moments.mean, r);
      const yHat = (await lowRankForward(f, Tensor.from(data, [n, D])).toArray()) as Float32Array;
      const direct = fidelity(yHat, y, n, O);
      assert.ok(Math.abs(direct.cosine - (fit.cosine[r] as number)) < 1e-5, `rank ${r}: ${fit.cosine[r]} vs ${direct.cosine}`);
      assert.ok(Math.abs(direct.relMse - (fit.relError[r] as number)) < 1e-4, `rank ${r} rel error: ${fit.relError[r]} vs ${direct.relMse}`);
    }
    assert.ok((fit.cosine[O] as number) > 0.99999);
  });

  it('saving ranks: r·(in + out) < in·out', () => {
    assert.equal(maxSavingRank(320, 320), 159);
    assert.equal(maxSavingRank(320, 1280), 255);
    assert.equal(maxSavingRank(2, 2), 0);
    assert.equal(projectionParameters(4, 3, null), 15);
    assert.equal(projectionParameters(4, 3, 1), 10);
  });
});

describe('rank allocation under a parameter budget', () => {
  const proj = (path: string, errs: number[]) => ({ path, inFeatures: 8, outFeatures: 8, relError: Float64Array.from(errs) });
  // maxSavingRank(8, 8) = 3; errors for ranks 0..8.
  const steep = proj('steep', [1, 0.9, 0.8, 0.7, 0.5, 0.3, 0.1, 0, 0]); // losing any rank costs a lot
  const flat = proj('flat', [1, 0.01, 0.005, 0.002, 0.001, 0, 0, 0, 0]); // one direction holds almost everything

  it('takes parameters from the projection that loses least per parameter, and meets the budget', () => {
    const dense = 2 * projectionParameters(8, 8, null);
    const a = allocateRanks([steep, flat], 0.7);
    assert.equal(a.get('steep'), null, 'the steep projection stays dense');
    assert.equal(a.get('flat'), 1);
    const total = projectionParameters(8, 8, a.get('steep') ?? null) + projectionParameters(8, 8, a.get('flat') ?? null);
    assert.ok(total <= 0.7 * dense, `${total} > ${0.7 * dense}`);
    const tight = allocateRanks([steep, flat], 0.45);
    assert.notEqual(tight.get('steep'), null);
  });

  it('rejects budgets outside (0, 1) or below rank 1 everywhere', () => {
    assertFails(() => allocateRanks([steep], 1), 'config', '(0, 1)');
    assertFails(() => allocateRanks([steep, flat], 0.2), 'config', 'below what rank 1 everywhere reaches');
  });
});
