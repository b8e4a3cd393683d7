import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jacobiSvd } from '../../src/linalg/jacobi-svd.js';
import { matmul, matmulTN, matrix, type Matrix } from '../../src/linalg/matrix.js';
import { symmetricEigen } from '../../src/linalg/symmetric-eigen.js';
import { tridiagonalEigenvalues } from '../../src/linalg/tridiagonal.js';
import { gaussian, near, orthogonalityError, symmetricWithSpectrum } from './helpers.js';

/** max over columns j of ‖A·v_j − λ_j·v_j‖∞. */
function residual(a: Matrix, values: Float64Array, v: Matrix): number {
  const av = matmul(a, v);
  let worst = 0;
  for (let i = 0; i < v.rows; i++) {
    for (let j = 0; j < v.cols; j++) {
      worst = Math.max(worst, Math.abs((av.data[i * v.cols + j] as number) - (values[j] as number) * (v.data[i * v.cols + j] as number)));
    }
  }
  return worst;
}

describe('symmetricEigen', () => {
  it('solves [[2, 1], [1, 2]] by hand: eigenvalues 3, 1 with vectors (1, 1)/√2, (1, −1)/√2', () => {
    const { values, vectors } = symmetricEigen(matrix(2, 2, [2, 1, 1, 2]));
    near(values[0] as number, 3, 1e-15, 'λ₁');
    near(values[1] as number, 1, 1e-15, 'λ₂');
    const h = Math.SQRT1_2;
    [h, h, h, -h].forEach((x, i) => near(vectors.data[i] as number, x, 1e-15, `V[${i}]`));
  });

  it('handles columns that need no reflection mid-way (block-diagonal input): spectrum is the union of the blocks\'', () => {
    // Column 2 has no entries below the sub-diagonal, so step 2 reflects nothing while step 1's
    // update of the trailing block is still owed.
    const b1 = symmetricWithSpectrum([3, -1, 0.5], 5);
    const b2 = symmetricWithSpectrum([2, 1.5, -2.5, 0.25, 4], 6);
    const n = 8;
    const a = matrix(n, n);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) a.data[i * n + j] = b1.data[i * 3 + j] as number;
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) a.data[(i + 3) * n + (j + 3)] = b2.data[i * 5 + j] as number;
    const { values, vectors } = symmetricEigen(a);
    const want = [3, -1, 0.5, 2, 1.5, -2.5, 0.25, 4].sort((x, y) => y - x);
    want.forEach((w, i) => near(values[i] as number, w, 1e-13, `λ${i}`));
    assert.ok(residual(a, values, vectors) < 1e-13, 'residual');
    assert.ok(orthogonalityError(vectors) < 1e-13, 'orthogonality');
  });

  it('recovers a known spectrum with negative, repeated and clustered eigenvalues', () => {
    const spectra: [string, number[]][] = [
      ['distinct decaying', Array.from({ length: 30 }, (_, i) => Math.exp(-i / 4))],
      ['repeated', Array.from({ length: 30 }, (_, i) => (i < 6 ? 5 : i < 20 ? 1 : 0))],
      ['indefinite', Array.from({ length: 30 }, (_, i) => (i % 5) - 2 + 1e-3 * i)],
      ['tight cluster', Array.from({ length: 30 }, (_, i) => 1 + 1e-9 * i)],
    ];
    for (const [name, spec] of spectra) {
      const a = symmetricWithSpectrum(spec, 11);
      const { values, vectors } = symmetricEigen(a);
      const want = [...spec].sort((x, y) => y - x);
      want.forEach((v, i) => near(values[i] as number, v, 1e-13, `${name}: λ${i}`));
      assert.ok(residual(a, values, vectors) < 1e-13, `${name}: residual ${residual(a, values, vectors)}`);
      assert.ok(orthogonalityError(vectors) < 1e-12, `${name}: orthogonality ${orthogonalityError(vectors)}`);
    }
  });

  it('computes only the top-k vectors when asked, matching the full solve', () => {
    const a = symmetricWithSpectrum(Array.from({ length: 25 }, (_, i) => 10 / (i + 1)), 5);
    const full = symmetricEigen(a);
    const top = symmetricEigen(a, { vectors: 4 });
    assert.equal(top.vectors.cols, 4);
    assert.deepEqual([...top.values], [...full.values]);
    for (let i = 0; i < 25; i++) for (let j = 0; j < 4; j++) near(top.vectors.data[i * 4 + j] as number, full.vectors.data[i * 25 + j] as number, 1e-12, `v[${i},${j}]`);
    assert.equal(symmetricEigen(a, { vectors: 0 }).vectors.cols, 0);
  });

  it('is accurate at sizes where every kernel path runs (odd and even blocks, odd vector counts, lone last reflector)', () => {
    for (const [n, k] of [[67, 9], [64, 7], [3, 3]] as const) {
      const spec = Array.from({ length: n }, (_, i) => Math.cos(i) * (1 + i / 7));
      const a = symmetricWithSpectrum(spec, 17 + n);
      const { values, vectors } = symmetricEigen(a, { vectors: k });
      [...spec].sort((x, y) => y - x).forEach((v, i) => near(values[i] as number, v, 1e-12, `n ${n}: λ${i}`));
      assert.ok(residual(a, values.subarray(0, k), vectors) < 1e-12, `n ${n}: residual ${residual(a, values.subarray(0, k), vectors)}`);
      assert.ok(orthogonalityError(vectors) < 1e-12, `n ${n}: orthogonality`);
    }
  });

  it('agrees with a Jacobi SVD reference on a random Gram matrix', () => {
    const x = gaussian(50, 20, 3);
    const g = matmulTN(x, x);
    const { values } = symmetricEigen(g, { vectors: 0 });
    const { s } = jacobiSvd(x);
    s.forEach((sigma, i) => near(values[i] as number, sigma * sigma, 1e-11 * (values[0] as number), `λ${i}`));
  });

  it('finds eigenvalues of a tridiagonal matrix directly (1-2-1 stencil: 2 − 2cos(kπ/(n+1)))', () => {
    const n = 16;
    const got = tridiagonalEigenvalues(new Float64Array(n).fill(2), new Float64Array(n - 1).fill(-1));
    const want = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1))).sort((x, y) => y - x);
    want.forEach((v, i) => near(got[i] as number, v, 1e-14, `λ${i}`));
  });

  it('rejects non-square, non-finite and bad vector counts', () => {
    assert.throws(() => symmetricEigen(matrix(2, 3)), /square/);
    assert.throws(() => symmetricEigen(matrix(2, 2, [1, NaN, NaN, 1])), /entry \(0, 1\) is NaN/);
    assert.throws(() => symmetricEigen(matrix(2, 2), { vectors: 3 }), /vectors must be an integer in \[0, 2\]/);
  });
});
