import { runtimeError } from '../errors.js';
import { matrix, transpose, type Matrix } from './matrix.js';

/** A thin SVD A = U·diag(s)·Vᵀ with s descending; U is m x k, V is n x k. */
export interface Svd {
  readonly u: Matrix;
  readonly s: Float64Array;
  readonly v: Matrix;
}

/**
 * Thin SVD of a small dense matrix by one-sided Jacobi rotations (Hestenes 1958; Demmel & Veselić,
 * "Jacobi's method is more accurate than QR", SIAM J. Matrix Anal. Appl. 13, 1992): pairs of
 * columns are rotated until all are mutually orthogonal to working precision; their norms are the
 * singular values. High relative accuracy, O(mn²) per sweep: meant for the small factors of
 * randomized SVD and as a reference in tests. Columns are stored as rows of Aᵀ so every rotation
 * walks contiguous memory. Sign convention: the largest-magnitude entry of each column of V is
 * positive.
 */
export function jacobiSvd(a: Matrix): Svd {
  if (a.rows < a.cols) {
    const t = jacobiSvd(transpose(a));
    return { u: t.v, s: t.s, v: t.u };
  }
  const m = a.rows;
  const n = a.cols;
  const w = transpose(a).data; // n rows of length m: the columns of A
  const vt = new Float64Array(n * n); // rows: columns of V
  for (let i = 0; i < n; i++) vt[i * n + i] = 1;
  const tol = Number.EPSILON * Math.sqrt(m);
  let converged = false;
  for (let sweep = 0; sweep < 60 && !converged; sweep++) {
    converged = true;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const op = p * m;
        const oq = q * m;
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          const x = w[op + i] as number;
          const y = w[oq + i] as number;
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= tol * Math.sqrt(alpha * beta)) continue;
        converged = false;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotateRows(w, op, oq, m, c, s);
        rotateRows(vt, p * n, q * n, n, c, s);
      }
    }
  }
  if (!converged) throw runtimeError(`jacobiSvd: no convergence after 60 sweeps on a ${m}x${n} matrix`);
  const norms = Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let i = 0; i < m; i++) s += (w[j * m + i] as number) ** 2;
    return Math.sqrt(s);
  });
  const order = norms.map((_, j) => j).sort((x, y) => (norms[y] as number) - (norms[x] as number) || x - y);
  const u = matrix(m, n);
  const v = matrix(n, n);
  const s = new Float64Array(n);
  order.forEach((j, col) => {
    const sigma = norms[j] as number;
    s[col] = sigma;
    // Sign: largest-magnitude entry of the V column positive.
    let big = 0;
    for (let i = 1; i < n; i++) if (Math.abs(vt[j * n + i] as number) > Math.abs(vt[j * n + big] as number)) big = i;
    const sign = (vt[j * n + big] as number) < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) v.data[i * n + col] = sign * (vt[j * n + i] as number);
    for (let i = 0; i < m; i++) u.data[i * n + col] = sigma === 0 ? 0 : (sign * (w[j * m + i] as number)) / sigma;
  });
  return { u, s, v };
}

/** (row_p, row_q) ← (c·row_p − s·row_q, s·row_p + c·row_q). */
function rotateRows(a: Float64Array, op: number, oq: number, len: number, c: number, s: number): void {
  for (let i = 0; i < len; i++) {
    const x = a[op + i] as number;
    const y = a[oq + i] as number;
    a[op + i] = c * x - s * y;
    a[oq + i] = s * x + c * y;
  }
}
