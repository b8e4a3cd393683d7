import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jacobiSvd } from '../../src/linalg/jacobi-svd.js';
import { matrix } from '../../src/linalg/matrix.js';
import { closedFormFactors, inputStats, outputBasis } from '../../src/rank/closed-form.js';
import { svdFactors } from '../../src/rank/low-rank-linear.js';
import { Rng } from '../../src/tensor/random.js';
import { f32Matrix } from '../../src/linalg/engine.js';
import { truncatedSvd } from '../../src/linalg/truncated-svd.js';
import { alternatingLeastSquares, denseOutputs, lowRankRows, objective, randomLayer, sumSquaredError } from './helpers.js';

describe('closed form = the exact data-aware optimum', () => {
  const cases = [
    { name: 'square 10 -> 10, rank 3', din: 10, dout: 10, r: 3, seed: 1 },
    { name: 'wide 12 -> 7, rank 2', din: 12, dout: 7, r: 2, seed: 2 },
    { name: 'tall 6 -> 11, rank 4', din: 6, dout: 11, r: 4, seed: 3 },
  ];
  for (const c of cases) {
    it(`${c.name}: equals the Eckart–Young bound and a converged alternating least squares`, async () => {
      const x = lowRankRows(80, c.din, Math.min(c.din, 6), c.seed, 0.2);
      const teacher = randomLayer(c.din, c.dout, c.seed + 10);
      const stats = await inputStats(x);
      const basis = await outputBasis(teacher, stats, c.r, 'exact');
      const cf = closedFormFactors(teacher, basis, stats.mean, c.r);
      const got = objective(teacher, cf, x);

      // Bound: Σ_{j>r} σ_j² of the centred teacher outputs (float64 Jacobi SVD).
      const y = denseOutputs(teacher, x);
      const yc = matrix(x.rows, c.dout);
      for (let o = 0; o < c.dout; o++) {
        let m = 0;
        for (let i = 0; i < x.rows; i++) m += (y[i * c.dout + o] as number) / x.rows;
        for (let i = 0; i < x.rows; i++) yc.data[i * c.dout + o] = (y[i * c.dout + o] as number) - m;
      }
      const s = jacobiSvd(yc).s;
      const bound = Array.from(s.subarray(c.r)).reduce((acc, v) => acc + v * v, 0);
      assert.ok(Math.abs(got - bound) <= 1e-5 * bound, `closed form ${got} vs Eckart–Young bound ${bound}`);

      const als = alternatingLeastSquares(teacher, x, c.r, c.seed);
      assert.ok(Math.abs(als.value - bound) <= 1e-6 * bound, `ALS ${als.value} did not converge to ${bound}`);
      const alsObjective = objective(teacher, als.factors, x);
      assert.ok(got <= alsObjective * (1 + 1e-5), `closed form ${got} must be at least as good as ALS ${alsObjective}`);
      assert.ok(Math.abs(got - alsObjective) <= 1e-5 * alsObjective, `closed form ${got} vs ALS ${alsObjective}`);

      // And it beats the data-free truncated SVD by a wide margin on this structured data.
      const svd = await truncatedSvd(f32Matrix(c.dout, c.din, teacher.weight), { rank: c.r, method: 'gram' });
      assert.ok(objective(teacher, svdFactors(svd, c.r, teacher.bias), x) > got * 1.5);
    });
  }

  it('nests: the rank-r factors are the first r rows/columns of a larger basis', async () => {
    const x = lowRankRows(60, 9, 5, 4);
    const teacher = randomLayer(9, 8, 5);
    const stats = await inputStats(x);
    const big = await outputBasis(teacher, stats, 6, 'exact');
    const small = await outputBasis(teacher, stats, 2, 'exact');
    const a = closedFormFactors(teacher, big, stats.mean, 2);
    const b = closedFormFactors(teacher, small, stats.mean, 2);
    for (let i = 0; i < a.a.length; i++) assert.ok(Math.abs((a.a[i] as number) - (b.a[i] as number)) < 1e-5);
    assert.equal(big.energies.length, 8);
    assert.throws(() => closedFormFactors(teacher, small, stats.mean, 3), /exceeds the 2 basis vectors/);
  });

  it('randomized route reaches the same objective as the exact one', async () => {
    const x = lowRankRows(200, 24, 6, 6, 0.01);
    const teacher = randomLayer(24, 20, 7);
    const stats = await inputStats(x);
    const exact = closedFormFactors(teacher, await outputBasis(teacher, stats, 4, 'exact'), stats.mean, 4);
    const rand = closedFormFactors(teacher, await outputBasis(teacher, stats, 4, 'randomized', new Rng(3)), stats.mean, 4);
    const e = objective(teacher, exact, x);
    const r = objective(teacher, rand, x);
    assert.ok(Math.abs(r - e) <= 1e-3 * e, `randomized ${r} vs exact ${e}`);
  });

  it('randomized route reports the same energies (squared singular values of Y_c) as the exact one', async () => {
    const x = lowRankRows(200, 24, 6, 6, 0.01);
    const teacher = randomLayer(24, 20, 7);
    const stats = await inputStats(x);
    const exact = await outputBasis(teacher, stats, 4, 'exact');
    const rand = await outputBasis(teacher, stats, 4, 'randomized', new Rng(3));
    assert.equal(rand.method, 'randomized');
    assert.equal(rand.energies.length, 4);
    assert.equal(exact.energies.length, 20);
    // Float64 reference: Jacobi SVD of the centred teacher outputs.
    const y = denseOutputs(teacher, x);
    const yc = matrix(x.rows, 20);
    for (let o = 0; o < 20; o++) {
      let m = 0;
      for (let i = 0; i < x.rows; i++) m += (y[i * 20 + o] as number) / x.rows;
      for (let i = 0; i < x.rows; i++) yc.data[i * 20 + o] = (y[i * 20 + o] as number) - m;
    }
    const s = jacobiSvd(yc).s;
    for (let j = 0; j < 4; j++) {
      const want = (s[j] as number) ** 2;
      assert.ok(Math.abs((exact.energies[j] as number) - want) <= 1e-4 * want, `exact energy ${j}: ${exact.energies[j]} vs σ² ${want}`);
      assert.ok(Math.abs((rand.energies[j] as number) - want) <= 1e-4 * want, `randomized energy ${j}: ${rand.energies[j]} vs σ² ${want}`);
    }
  });

  it('handles rank-deficient inputs (fewer rows than features): no inverse, still optimal', async () => {
    const x = lowRankRows(8, 16, 3, 8, 0);
    const teacher = randomLayer(16, 12, 9);
    const stats = await inputStats(x);
    const cf = closedFormFactors(teacher, await outputBasis(teacher, stats, 3, 'exact'), stats.mean, 3);
    // The data span 3 directions around their mean, so rank 3 reproduces the teacher on them.
    const err = objective(teacher, cf, x);
    const energy = sumSquaredError(denseOutputs(teacher, x), new Float64Array(8 * 12));
    assert.ok(err <= 1e-9 * energy, `error ${err} on energy ${energy}`);
  });
});
