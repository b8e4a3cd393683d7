import { shapeError } from '../errors.js';
import { matrix, type Matrix } from './matrix.js';

/**
 * Thin Householder QR (Golub & Van Loan, "Matrix Computations", 4th ed., Alg. 5.2.1 with backward
 * accumulation of Q, §5.1.6): A (m x n, m ≥ n) = Q·R with Q (m x n) orthonormal columns and R
 * (n x n) upper triangular with a non-negative diagonal. The sign convention makes the factors
 * unique for full-rank A, so the Q of a Gaussian matrix is Haar-distributed (Mezzadri,
 * https://arxiv.org/abs/math-ph/0609050). Reflectors are applied row by row (w = vᵀA, then
 * A −= β·v·wᵀ), the cache-friendly order for row-major storage.
 */
export function qrThin(a: Matrix): { q: Matrix; r: Matrix } {
  const { rows: m, cols: n } = a;
  if (m < n) throw shapeError('qrThin', `needs rows >= cols, got ${m}x${n}`);
  const w = Float64Array.from(a.data); // working copy, becomes R in its upper triangle
  const vs: Float64Array[] = [];
  const betas = new Float64Array(n);
  const diag = new Float64Array(n);
  const tmp = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const v = new Float64Array(m - k);
    let norm2 = 0;
    for (let i = k; i < m; i++) {
      const x = w[i * n + k] as number;
      v[i - k] = x;
      norm2 += x * x;
    }
    const norm = Math.sqrt(norm2);
    const x0 = v[0] as number;
    if (norm === 0) {
      diag[k] = 0;
      vs.push(v);
      continue;
    }
    const alpha = x0 >= 0 ? -norm : norm;
    v[0] = x0 - alpha;
    const vv = norm2 - x0 * x0 + (x0 - alpha) * (x0 - alpha);
    const beta = vv === 0 ? 0 : 2 / vv;
    betas[k] = beta;
    diag[k] = alpha;
    vs.push(v);
    applyReflector(w, n, k, k + 1, n, v, beta, tmp);
    w[k * n + k] = alpha;
    for (let i = k + 1; i < m; i++) w[i * n + k] = 0;
  }
  // Q = H₀·H₁·…·H_{n−1}·[I; 0], accumulated backwards so each reflector touches only rows/cols ≥ k.
  const q = new Float64Array(m * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let k = n - 1; k >= 0; k--) applyReflector(q, n, k, k, n, vs[k] as Float64Array, betas[k] as number, tmp);
  // Flip signs so that diag(R) ≥ 0: Q·D and D·R with D = diag(sign(Rkk)).
  const r = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const flip = (diag[i] as number) < 0;
    for (let j = i; j < n; j++) r[i * n + j] = flip ? -(w[i * n + j] as number) : (w[i * n + j] as number);
    if (flip) for (let row = 0; row < m; row++) q[row * n + i] = -(q[row * n + i] as number);
  }
  return { q: matrix(m, n, q), r: matrix(n, n, r) };
}

/** Orthonormal basis of the column space of A (m ≥ n): the Q of the thin QR. */
export function orthonormalize(a: Matrix): Matrix {
  return qrThin(a).q;
}

/**
 * Applies H = I − β·v·vᵀ (v acting on rows k..m−1) to columns [c0, c1) of a row-major buffer with
 * `cols` columns: w = vᵀ·A[k:, c0:c1], then A[i, c0:c1] −= β·v[i−k]·w.
 */
function applyReflector(a: Float64Array, cols: number, k: number, c0: number, c1: number, v: Float64Array, beta: number, w: Float64Array): void {
  if (beta === 0 || c0 >= c1) return;
  const rows = k + v.length;
  w.fill(0, c0, c1);
  for (let i = k; i < rows; i++) {
    const vi = v[i - k] as number;
    if (vi === 0) continue;
    const o = i * cols;
    for (let j = c0; j < c1; j++) w[j] = (w[j] as number) + vi * (a[o + j] as number);
  }
  for (let i = k; i < rows; i++) {
    const s = beta * (v[i - k] as number);
    if (s === 0) continue;
    const o = i * cols;
    for (let j = c0; j < c1; j++) a[o + j] = (a[o + j] as number) - s * (w[j] as number);
  }
}
