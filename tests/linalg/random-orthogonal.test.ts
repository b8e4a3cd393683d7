import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matrix } from '../../src/linalg/matrix.js';
import { randomOrthogonal, randomOrthogonalF32 } from '../../src/linalg/random-orthogonal.js';
import { Rng } from '../../src/tensor/random.js';
import { orthogonalityError } from './helpers.js';

describe('randomOrthogonal', () => {
  it('is orthogonal and deterministic for a seed', () => {
    const q = randomOrthogonal(60, new Rng(4));
    assert.ok(orthogonalityError(q) < 1e-14, `orthogonality ${orthogonalityError(q)}`);
    assert.deepEqual([...randomOrthogonal(60, new Rng(4)).data], [...q.data]);
    assert.notDeepEqual([...randomOrthogonal(60, new Rng(5)).data], [...q.data]);
  });

  it('has Haar moments: E[q₁₁²] = 1/n, E[q₁₁] = 0, and ±1 determinants equally often', () => {
    const n = 5;
    const rng = new Rng(9);
    const trials = 4000;
    let sq = 0;
    let mean = 0;
    let negDet = 0;
    for (let t = 0; t < trials; t++) {
      const q = randomOrthogonal(n, rng);
      sq += (q.data[0] as number) ** 2;
      mean += q.data[n * n - 1] as number;
      if (det(q.data, n) < 0) negDet++;
    }
    // Standard errors: Var[q₁₁²] = 2(n−1)/(n²(n+2)) → se ≈ 0.0024; Var[q₁₁] = 1/n → se ≈ 0.007.
    assert.ok(Math.abs(sq / trials - 1 / n) < 0.01, `E[q11^2] = ${sq / trials}`);
    assert.ok(Math.abs(mean / trials) < 0.03, `E[q_nn] = ${mean / trials}`);
    assert.ok(Math.abs(negDet / trials - 0.5) < 0.04, `P(det < 0) = ${negDet / trials}`);
  });
});

function det(a: Float64Array, n: number): number {
  const m = Float64Array.from(a);
  let d = 1;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k] as number) > Math.abs(m[p * n + k] as number)) p = i;
    if (p !== k) {
      for (let j = 0; j < n; j++) [m[k * n + j], m[p * n + j]] = [m[p * n + j] as number, m[k * n + j] as number];
      d = -d;
    }
    const piv = m[k * n + k] as number;
    d *= piv;
    for (let i = k + 1; i < n; i++) {
      const f = (m[i * n + k] as number) / piv;
      for (let j = k; j < n; j++) m[i * n + j] = (m[i * n + j] as number) - f * (m[k * n + j] as number);
    }
  }
  return d;
}

describe('randomOrthogonalF32 (blocked on the engine)', () => {
  it('is the float64 matrix of the same seed up to float32 rounding, and orthogonal', async () => {
    const n = 70;
    const exact = randomOrthogonal(n, new Rng(12));
    const fast = await randomOrthogonalF32(n, new Rng(12), 16);
    let worst = 0;
    for (let i = 0; i < n * n; i++) worst = Math.max(worst, Math.abs((fast.data[i] as number) - (exact.data[i] as number)));
    assert.ok(worst < 2e-6, `max difference ${worst}`);
    const q = matrix(n, n, Float64Array.from(fast.data));
    assert.ok(orthogonalityError(q) < 2e-6, `orthogonality ${orthogonalityError(q)}`);
  });
});
