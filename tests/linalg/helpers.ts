import assert from 'node:assert/strict';
import { identity, matmul, matmulTN, matrix, maxAbsDifference, transpose, type Matrix } from '../../src/linalg/matrix.js';
import { qrThin } from '../../src/linalg/qr.js';
import { Rng } from '../../src/tensor/random.js';

/** Test helpers for src/linalg: seeded matrices with known spectra and orthogonality checks. */

/** An m x n matrix of N(0, 1) entries. */
export function gaussian(m: number, n: number, seed: number): Matrix {
  const rng = new Rng(seed);
  return matrix(m, n, Float64Array.from({ length: m * n }, () => rng.normal()));
}

/** Q·diag(values)·Qᵀ with a random orthogonal Q: a symmetric matrix with a known spectrum. */
export function symmetricWithSpectrum(values: readonly number[], seed: number): Matrix {
  const n = values.length;
  const q = qrThin(gaussian(n, n, seed)).q;
  const qd = matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) qd.data[i * n + j] = (q.data[i * n + j] as number) * (values[j] as number);
  return matmul(qd, transpose(q));
}

/** U·diag(s)·Vᵀ with random orthonormal U (m x k), V (n x k): a matrix with known singular values. */
export function withSingularValues(m: number, n: number, s: readonly number[], seed: number): Matrix {
  const k = s.length;
  const u = qrThin(gaussian(m, k, seed)).q;
  const v = qrThin(gaussian(n, k, seed + 1)).q;
  const us = matrix(m, k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) us.data[i * k + j] = (u.data[i * k + j] as number) * (s[j] as number);
  return matmul(us, transpose(v));
}

/** max |QᵀQ − I| over the columns of Q. */
export function orthogonalityError(q: Matrix): number {
  return maxAbsDifference(matmulTN(q, q), identity(q.cols));
}

/** Asserts that two numbers agree within `tol` (absolute). */
export function near(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (tol ${tol})`);
}
