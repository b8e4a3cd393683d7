import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matmul, matrix, maxAbsDifference } from '../../src/linalg/matrix.js';
import { qrThin } from '../../src/linalg/qr.js';
import { gaussian, near, orthogonalityError } from './helpers.js';

describe('qrThin', () => {
  it('factors a hand-computed 3x2 example', () => {
    // A = [[3, 1], [4, 2], [0, 2]]: ‖a₁‖ = 5, q₁ = (0.6, 0.8, 0); r₁₂ = q₁·a₂ = 2.2;
    // a₂ − 2.2·q₁ = (−0.32, 0.24, 2), whose norm r₂₂ = √4.16.
    const { q, r } = qrThin(matrix(3, 2, [3, 1, 4, 2, 0, 2]));
    const r22 = Math.sqrt(4.16);
    const want = [5, 2.2, 0, r22];
    want.forEach((v, i) => near(r.data[i] as number, v, 1e-14, `R[${i}]`));
    const wantQ = [0.6, -0.32 / r22, 0.8, 0.24 / r22, 0, 2 / r22];
    wantQ.forEach((v, i) => near(q.data[i] as number, v, 1e-14, `Q[${i}]`));
  });

  it('gives orthonormal Q, upper-triangular R with diag >= 0, and Q·R = A (tall random)', () => {
    const a = gaussian(40, 12, 1);
    const { q, r } = qrThin(a);
    assert.ok(orthogonalityError(q) < 1e-14, `orthogonality ${orthogonalityError(q)}`);
    assert.ok(maxAbsDifference(matmul(q, r), a) < 1e-13);
    for (let i = 0; i < 12; i++) {
      assert.ok((r.data[i * 12 + i] as number) >= 0, `diag ${i}`);
      for (let j = 0; j < i; j++) assert.equal(r.data[i * 12 + j], 0, `R[${i},${j}] below the diagonal`);
    }
  });

  it('handles a zero column and rejects wide input', () => {
    const a = matrix(3, 2, [1, 0, 1, 0, 1, 0]);
    const { q, r } = qrThin(a);
    assert.ok(maxAbsDifference(matmul(q, r), a) < 1e-15);
    assert.equal(r.data[3], 0);
    assert.throws(() => qrThin(matrix(2, 3)), /rows >= cols/);
  });
});
