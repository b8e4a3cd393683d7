import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toF32 } from '../../src/linalg/engine.js';
import { jacobiSvd } from '../../src/linalg/jacobi-svd.js';
import { frobeniusNorm, matrix, maxAbsDifference, type Matrix } from '../../src/linalg/matrix.js';
import { randomizedSvd, reconstruct } from '../../src/linalg/randomized-svd.js';
import { truncatedSvd } from '../../src/linalg/truncated-svd.js';
import { Rng } from '../../src/tensor/random.js';
import { gaussian, near, orthogonalityError, withSingularValues } from './helpers.js';

const decaying = Array.from({ length: 40 }, (_, i) => 3 * Math.exp(-i / 4));

describe('randomizedSvd (engine matmuls, float32)', () => {
  it('matches the exact top singular values of a decaying spectrum', async () => {
    const a = toF32(withSingularValues(120, 60, decaying, 1));
    const svd = await randomizedSvd(a, { rank: 8, rng: new Rng(1) });
    decaying.slice(0, 8).forEach((x, i) => near((svd.s[i] as number) / x, 1, 2e-5, `σ${i} relative`));
    assert.ok(orthogonalityError(svd.u) < 1e-5 && orthogonalityError(svd.v) < 1e-5);
  });

  it('reaches the optimal rank-k error σ_{k+1} (Eckart–Young) to float32 accuracy', async () => {
    const a64 = withSingularValues(100, 50, decaying, 2);
    const svd = await randomizedSvd(toF32(a64), { rank: 10, rng: new Rng(2), powerIterations: 3 });
    const r = reconstruct(svd);
    const err = matrix(100, 50, a64.data.map((x, i) => x - (r.data[i] as number)));
    const optimal = Math.sqrt(decaying.slice(10).reduce((s, x) => s + x * x, 0));
    near(frobeniusNorm(err) / optimal, 1, 1e-3, '‖A − A_k‖ / optimal');
  });

  it('is exact (to float32) when the sample size reaches the full dimension', async () => {
    const a64 = gaussian(30, 12, 3);
    const svd = await randomizedSvd(toF32(a64), { rank: 12, oversample: 0, powerIterations: 0, rng: new Rng(3) });
    assert.ok(maxAbsDifference(reconstruct(svd), a64) < 1e-5);
    const exact = jacobiSvd(a64);
    exact.s.forEach((x, i) => near(svd.s[i] as number, x, 1e-5 * (exact.s[0] as number), `σ${i}`));
  });

  it('rejects ranks outside [1, min(m, n)]', async () => {
    await assert.rejects(randomizedSvd(toF32(gaussian(5, 4, 1)), { rank: 5, rng: new Rng(1) }), /rank must be an integer in \[1, 4\]/);
  });
});

describe('truncatedSvd', () => {
  for (const [m, n] of [[50, 30], [20, 45]] as const) {
    it(`gram route (${m}x${n}): full spectrum and top vectors agree with Jacobi`, async () => {
      const a64 = withSingularValues(m, n, decaying.slice(0, 20), 4);
      const a = toF32(a64);
      const exact = jacobiSvd(toF64Back(a));
      const t = await truncatedSvd(a, { rank: 5, method: 'gram' });
      assert.equal(t.spectrum.length, Math.min(m, n));
      for (let i = 0; i < 20; i++) {
        const ref = exact.s[i] as number;
        if (ref > 10 * t.floor) near((t.spectrum[i] as number) / ref, 1, 1e-4, `σ${i}`);
      }
      // Top right singular vectors agree up to sign.
      for (let j = 0; j < 5; j++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += (t.v.data[i * 5 + j] as number) * (exact.v.data[i * exact.v.cols + j] as number);
        near(Math.abs(dot), 1, 1e-5, `|v${j}·v${j}_ref|`);
      }
      assert.ok(orthogonalityError(t.u) < 1e-5);
    });
  }
});

function toF64Back(a: { rows: number; cols: number; data: Float32Array }): Matrix {
  return matrix(a.rows, a.cols, Float64Array.from(a.data));
}
