import { runtimeError } from '../errors.js';
import { Rng } from '../tensor/random.js';
import { matrix, type Matrix } from './matrix.js';

/**
 * The three stages of a symmetric eigensolver in the LAPACK `dsyevx` layout (Golub & Van Loan,
 * "Matrix Computations", 4th ed., §8.3 and §8.4; LAPACK dsytrd / dsterf / dstein / dormtr):
 *   1. Householder reduction A = Q·T·Qᵀ to a symmetric tridiagonal T (4n³/3 flops, the only cubic
 *      step: eigenvalues alone stay cheap);
 *   2. all eigenvalues of T by implicit QL with Wilkinson shifts (O(n²));
 *   3. the few eigenvectors asked for by inverse iteration on T with re-orthogonalisation inside
 *      clusters, mapped back through the reflectors (O(n²) per vector).
 */

/** T's diagonal `d` (n), off-diagonal `e` (n−1) and the reflectors with A = Q·T·Qᵀ, Q = H₀·…·H_{n−3}. */
export interface Tridiagonal {
  readonly n: number;
  readonly d: Float64Array;
  readonly e: Float64Array;
  /** H_k = I − β_k·v_k·v_kᵀ acting on indices k+1..n−1 (v_k has n−k−1 entries). */
  readonly reflectors: readonly { readonly v: Float64Array; readonly beta: number }[];
}

/**
 * Householder tridiagonalisation of a symmetric matrix (only its lower triangle is read). Works on
 * the lower triangle of a copy: the symmetric product p = S·v reads each stored element once for
 * both of its positions, and the rank-2 update S −= v·wᵀ + w·vᵀ touches the lower half only.
 */
export function tridiagonalize(a: Matrix): Tridiagonal {
  const n = a.rows;
  const s = Float64Array.from(a.data);
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const reflectors: { v: Float64Array; beta: number }[] = [];
  for (let k = 0; k < n - 2; k++) {
    const m = n - k - 1;
    const c0 = k + 1; // first row/column of the trailing block
    const v = new Float64Array(m);
    let norm2 = 0;
    for (let i = 0; i < m; i++) {
      const x = s[(c0 + i) * n + k] as number;
      v[i] = x;
      norm2 += x * x;
    }
    d[k] = s[k * n + k] as number;
    const x0 = v[0] as number;
    const tail2 = norm2 - x0 * x0;
    if (tail2 === 0) {
      // Already tridiagonal in this column: no reflection.
      e[k] = x0;
      reflectors.push({ v, beta: 0 });
      continue;
    }
    const norm = Math.sqrt(norm2);
    const alpha = x0 >= 0 ? -norm : norm;
    v[0] = x0 - alpha;
    const beta = 2 / (tail2 + (x0 - alpha) * (x0 - alpha));
    e[k] = alpha;
    reflectors.push({ v, beta });
    // p = β·S·v from the lower triangle of S = s[c0:, c0:].
    const p = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const row = (c0 + i) * n + c0;
      const vi = v[i] as number;
      let acc = 0;
      for (let j = 0; j < i; j++) {
        const sij = s[row + j] as number;
        acc += sij * (v[j] as number);
        p[j] = (p[j] as number) + sij * vi;
      }
      p[i] = (p[i] as number) + acc + (s[row + i] as number) * vi;
    }
    let vp = 0;
    for (let i = 0; i < m; i++) {
      p[i] = beta * (p[i] as number);
      vp += (v[i] as number) * (p[i] as number);
    }
    const kk = 0.5 * beta * vp;
    for (let i = 0; i < m; i++) p[i] = (p[i] as number) - kk * (v[i] as number); // w = p − K·v
    for (let i = 0; i < m; i++) {
      const row = (c0 + i) * n + c0;
      const vi = v[i] as number;
      const wi = p[i] as number;
      for (let j = 0; j <= i; j++) s[row + j] = (s[row + j] as number) - vi * (p[j] as number) - wi * (v[j] as number);
    }
  }
  if (n >= 2) {
    d[n - 2] = s[(n - 2) * n + (n - 2)] as number;
    e[n - 2] = s[(n - 1) * n + (n - 2)] as number;
  }
  if (n >= 1) d[n - 1] = s[(n - 1) * n + (n - 1)] as number;
  return { n, d, e, reflectors };
}

/**
 * All eigenvalues of the symmetric tridiagonal (d, e) by implicit QL with Wilkinson shifts
 * (Golub & Van Loan §8.3.5, in the QL orientation), sorted descending.
 */
export function tridiagonalEigenvalues(d0: Float64Array, e0: Float64Array): Float64Array {
  const n = d0.length;
  const d = Float64Array.from(d0);
  const e = new Float64Array(n);
  e.set(e0.subarray(0, Math.max(0, n - 1)));
  const eps = Number.EPSILON;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m] as number) + Math.abs(d[m + 1] as number);
        if (Math.abs(e[m] as number) <= eps * dd) break;
      }
      if (m === l) break;
      if (++iter > 60) throw runtimeError(`tridiagonal eigenvalues: QL did not converge for eigenvalue ${l} of ${n}`);
      let g = ((d[l + 1] as number) - (d[l] as number)) / (2 * (e[l] as number));
      let r = Math.hypot(g, 1);
      g = (d[m] as number) - (d[l] as number) + (e[l] as number) / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      let underflow = false;
      for (; i >= l; i--) {
        const f = s * (e[i] as number);
        const b = c * (e[i] as number);
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] = (d[i + 1] as number) - p;
          e[m] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = (d[i + 1] as number) - p;
        r = ((d[i] as number) - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (underflow) continue;
      d[l] = (d[l] as number) - p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return d.sort().reverse();
}

/**
 * Eigenvectors of the symmetric tridiagonal (d, e) for the given eigenvalues (descending), by
 * inverse iteration with a partially pivoted LU of T − λI (LAPACK dlagtf/dlagts) and modified
 * Gram–Schmidt against the earlier vectors whose eigenvalues lie within `clusterTolerance`·‖T‖₁
 * (a window, not LAPACK dstein's chained clusters, so the long tails of tiny eigenvalues of data
 * Gram matrices do not become one huge cluster). Vectors further apart are orthogonal to about
 * n·ε/clusterTolerance by the accuracy of inverse iteration itself. Coincident shifts are nudged
 * apart by 10·ε·‖T‖₁ so each solve differs. Start vectors come from a fixed seed, so results are
 * deterministic. Returns an n x k matrix.
 */
export function tridiagonalEigenvectors(d: Float64Array, e: Float64Array, values: Float64Array, clusterTolerance = 1e-4): Matrix {
  const n = d.length;
  const k = values.length;
  const out = matrix(n, k);
  if (k === 0) return out;
  let tnorm = 0;
  for (let i = 0; i < n; i++) {
    const row = Math.abs(d[i] as number) + (i > 0 ? Math.abs(e[i - 1] as number) : 0) + (i < n - 1 ? Math.abs(e[i] as number) : 0);
    tnorm = Math.max(tnorm, row);
  }
  if (tnorm === 0) tnorm = 1;
  const eps = Number.EPSILON;
  const ortol = clusterTolerance * tnorm;
  const pertol = 10 * eps * tnorm;
  const tiny = eps * tnorm;
  const rng = new Rng(0x5eed);
  const lu = new TridiagonalLu(n);
  const vecs: Float64Array[] = [];
  let clusterStart = 0;
  let prevShift = Infinity;
  for (let j = 0; j < k; j++) {
    const lambda = values[j] as number;
    while ((values[clusterStart] as number) - lambda > ortol) clusterStart++;
    let shift = lambda;
    if (j > 0 && prevShift - shift < pertol) shift = prevShift - pertol;
    prevShift = shift;
    lu.factor(d, e, shift, tiny);
    let x: Float64Array = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = rng.uniform() * 2 - 1;
    for (let it = 0; it < 3; it++) {
      normalizeInPlace(x);
      x = lu.solve(x);
      for (let c = clusterStart; c < j; c++) subtractProjection(x, vecs[c] as Float64Array);
    }
    for (let c = clusterStart; c < j; c++) subtractProjection(x, vecs[c] as Float64Array);
    normalizeInPlace(x);
    vecs.push(x);
    for (let i = 0; i < n; i++) out.data[i * k + j] = x[i] as number;
  }
  return out;
}

/** Maps vectors of T (columns of an n x k matrix, in place) to vectors of A: Y ← Q·Y. */
export function applyTridiagonalQ(t: Tridiagonal, y: Matrix): void {
  const { n } = t;
  const k = y.cols;
  const w = new Float64Array(k);
  for (let r = t.reflectors.length - 1; r >= 0; r--) {
    const { v, beta } = t.reflectors[r] as { v: Float64Array; beta: number };
    if (beta === 0) continue;
    const c0 = r + 1;
    w.fill(0);
    for (let i = c0; i < n; i++) {
      const vi = v[i - c0] as number;
      if (vi === 0) continue;
      const o = i * k;
      for (let j = 0; j < k; j++) w[j] = (w[j] as number) + vi * (y.data[o + j] as number);
    }
    for (let i = c0; i < n; i++) {
      const s = beta * (v[i - c0] as number);
      if (s === 0) continue;
      const o = i * k;
      for (let j = 0; j < k; j++) y.data[o + j] = (y.data[o + j] as number) - s * (w[j] as number);
    }
  }
}

/** LU with partial pivoting of a tridiagonal T − λI: U has two super-diagonals, L is unit bidiagonal. */
class TridiagonalLu {
  private readonly u0: Float64Array;
  private readonly u1: Float64Array;
  private readonly u2: Float64Array;
  private readonly mult: Float64Array;
  private readonly swap: Uint8Array;

  constructor(private readonly n: number) {
    this.u0 = new Float64Array(n);
    this.u1 = new Float64Array(n);
    this.u2 = new Float64Array(n);
    this.mult = new Float64Array(n);
    this.swap = new Uint8Array(n);
  }

  factor(d: Float64Array, e: Float64Array, lambda: number, tiny: number): void {
    const { n, u0, u1, u2, mult, swap } = this;
    for (let i = 0; i < n; i++) u0[i] = (d[i] as number) - lambda;
    for (let i = 0; i < n - 1; i++) u1[i] = e[i] as number;
    u2.fill(0);
    for (let i = 0; i < n - 1; i++) {
      const b = e[i] as number; // sub-diagonal entry below u0[i]
      const ai = u0[i] as number;
      if (Math.abs(ai) >= Math.abs(b)) {
        const piv = Math.abs(ai) < tiny ? (ai >= 0 ? tiny : -tiny) : ai;
        u0[i] = piv;
        const m = b / piv;
        mult[i] = m;
        swap[i] = 0;
        u0[i + 1] = (u0[i + 1] as number) - m * (u1[i] as number);
      } else {
        const m = ai / b;
        const ci = u1[i] as number;
        const aNext = u0[i + 1] as number;
        const cNext = i < n - 2 ? (u1[i + 1] as number) : 0;
        mult[i] = m;
        swap[i] = 1;
        u0[i] = b;
        u1[i] = aNext;
        u2[i] = cNext;
        u0[i + 1] = ci - m * aNext;
        if (i < n - 2) u1[i + 1] = -m * cNext;
      }
    }
    if (n > 0 && Math.abs(u0[n - 1] as number) < tiny) u0[n - 1] = (u0[n - 1] as number) >= 0 ? tiny : -tiny;
  }

  /** Solves (T − λI)·x = b (b is consumed). */
  solve(b: Float64Array): Float64Array {
    const { n, u0, u1, u2, mult, swap } = this;
    const y = b;
    for (let i = 0; i < n - 1; i++) {
      if (swap[i] === 1) {
        const t = y[i] as number;
        y[i] = y[i + 1] as number;
        y[i + 1] = t;
      }
      y[i + 1] = (y[i + 1] as number) - (mult[i] as number) * (y[i] as number);
    }
    const x = new Float64Array(n);
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i] as number;
      if (i + 1 < n) s -= (u1[i] as number) * (x[i + 1] as number);
      if (i + 2 < n) s -= (u2[i] as number) * (x[i + 2] as number);
      x[i] = s / (u0[i] as number);
    }
    // Rescale huge growth so repeated solves never overflow.
    let big = 0;
    for (let i = 0; i < n; i++) big = Math.max(big, Math.abs(x[i] as number));
    if (big > 1e150) for (let i = 0; i < n; i++) x[i] = (x[i] as number) / big;
    return x;
  }
}

function normalizeInPlace(x: Float64Array): void {
  let s = 0;
  for (const v of x) s += v * v;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) * inv;
}

/** x −= (uᵀx)·u for a unit vector u. */
function subtractProjection(x: Float64Array, u: Float64Array): void {
  let dot = 0;
  for (let i = 0; i < x.length; i++) dot += (x[i] as number) * (u[i] as number);
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) - dot * (u[i] as number);
}
