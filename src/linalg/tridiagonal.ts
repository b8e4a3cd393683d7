import { runtimeError } from '../errors.js';
import { Rng } from '../tensor/random.js';
import { matrix, type Matrix } from './matrix.js';
import { EigenKernels } from './wasm-kernels.js';

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
 * Each step's update is deferred and applied in the same sweep over the trailing block as the next
 * step's product (only the next column is updated ahead, to form the next reflector), and the sweep
 * takes two rows at a time, so each element is loaded and stored once per step and the vector
 * entries serve two rows. The sweep runs as WebAssembly SIMD (wasm-kernels.ts, kernels.wat); the
 * copy of the matrix and the step vectors live in the kernels' memory. n = 1280: 0.24 s.
 */
export function tridiagonalize(a: Matrix): Tridiagonal {
  const n = a.rows;
  const kern = EigenKernels.get();
  // Layout (float64 offsets): S (n x n), then five vector slots of n: (v, p) twice, zeros.
  kern.reserve(n * n + 5 * n);
  const s = kern.view(0, n * n);
  s.set(a.data);
  const slot = (i: number): number => n * n + i * n;
  const zeros = slot(4);
  kern.view(zeros, n).fill(0);
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const reflectors: { v: Float64Array; beta: number }[] = [];
  // The deferred update S −= v·wᵀ + w·vᵀ of the previous step, over indices ≥ `base` (entry i − base).
  let pv: Float64Array | null = null;
  let pw: Float64Array | null = null;
  let pvAt = 0;
  let pwAt = 0;
  let base = 0;
  let turn = 0;
  for (let k = 0; k < n - 2; k++) {
    const m = n - k - 1;
    const c0 = k + 1; // first row/column of the trailing block
    // Column k (rows ≥ k) and the diagonal entry receive the deferred update first.
    if (pv !== null && pw !== null) {
      const vk = pv[k - base] as number;
      const wk = pw[k - base] as number;
      for (let i = k; i < n; i++) s[i * n + k] = (s[i * n + k] as number) - (pv[i - base] as number) * wk - (pw[i - base] as number) * vk;
    }
    const vAt = slot(2 * turn);
    const pAt = slot(2 * turn + 1);
    turn = 1 - turn;
    const v = kern.view(vAt, m);
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
      // Already tridiagonal in this column: no reflection, but the trailing block still owes the
      // deferred update.
      e[k] = x0;
      reflectors.push({ v: v.slice(), beta: 0 });
      if (pv !== null && pw !== null) applyDeferred(s, n, c0, pv, pw, base);
      pv = null;
      pw = null;
      continue;
    }
    const norm = Math.sqrt(norm2);
    const alpha = x0 >= 0 ? -norm : norm;
    v[0] = x0 - alpha;
    const beta = 2 / (tail2 + (x0 - alpha) * (x0 - alpha));
    e[k] = alpha;
    reflectors.push({ v: v.slice(), beta });
    // One sweep over the lower triangle of S = s[c0:, c0:]: apply the deferred update, then
    // accumulate p = S·v from the updated values. No update owed (first step, or after a step
    // that reflected nothing): a zero update.
    const p = kern.view(pAt, m);
    p.fill(0);
    const owed = pv !== null && pw !== null;
    kern.sweep(0, n, c0, m, vAt, pAt, owed ? pvAt + (c0 - base) : zeros, owed ? pwAt + (c0 - base) : zeros);
    let vp = 0;
    for (let i = 0; i < m; i++) {
      p[i] = beta * (p[i] as number);
      vp += (v[i] as number) * (p[i] as number);
    }
    const kk = 0.5 * beta * vp;
    for (let i = 0; i < m; i++) p[i] = (p[i] as number) - kk * (v[i] as number); // w = p − K·v
    pv = v;
    pw = p;
    pvAt = vAt;
    pwAt = pAt;
    base = c0;
  }
  if (pv !== null && pw !== null) applyDeferred(s, n, Math.max(0, n - 2), pv, pw, base);
  if (n >= 2) {
    d[n - 2] = s[(n - 2) * n + (n - 2)] as number;
    e[n - 2] = s[(n - 1) * n + (n - 2)] as number;
  }
  if (n >= 1) d[n - 1] = s[(n - 1) * n + (n - 1)] as number;
  return { n, d, e, reflectors };
}

/** Applies a deferred update S −= v·wᵀ + w·vᵀ to the lower triangle of s[from:, from:]. */
function applyDeferred(s: Float64Array, n: number, from: number, v: Float64Array, w: Float64Array, base: number): void {
  for (let i = from; i < n; i++) {
    const row = i * n;
    const vi = v[i - base] as number;
    const wi = w[i - base] as number;
    for (let j = from; j <= i; j++) s[row + j] = (s[row + j] as number) - vi * (w[j - base] as number) - wi * (v[j - base] as number);
  }
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

/**
 * Maps vectors of T (columns of an n x k matrix, in place) to vectors of A: Y ← Q·Y, applying the
 * reflectors from the last to the first. Two at a time where both reflect: with a = u₂ᵀY and
 * b = u₁ᵀY from one sweep, H₁·H₂·Y = Y − β₂·u₂·aᵀ − β₁·u₁·(b − β₂·(u₁·u₂)·a)ᵀ in a second
 * sweep, so Y is read twice per pair instead of per reflector. Both sweeps take two rows per pass
 * and run as WebAssembly SIMD over Y's rows (wasm-kernels.ts); a lone reflector uses the same
 * sweeps with a zero partner.
 */
export function applyTridiagonalQ(t: Tridiagonal, y: Matrix): void {
  const { n } = t;
  const k = y.cols;
  const kern = EigenKernels.get();
  // Layout (float64 offsets): Y (n x k), u₁, u₂, zeros (n each), wa, wb (k each).
  const u1At = n * k;
  const u2At = u1At + n;
  const zerosAt = u2At + n;
  const waAt = zerosAt + n;
  const wbAt = waAt + k;
  kern.reserve(wbAt + k);
  const data = kern.view(0, n * k);
  data.set(y.data);
  const u1v = kern.view(u1At, n);
  const u2v = kern.view(u2At, n);
  kern.view(zerosAt, n).fill(0);
  const wa = kern.view(waAt, k);
  const wb = kern.view(wbAt, k);
  let r = t.reflectors.length - 1;
  while (r >= 0) {
    const hi = t.reflectors[r] as { v: Float64Array; beta: number };
    const lo = r > 0 ? (t.reflectors[r - 1] as { v: Float64Array; beta: number }) : undefined;
    if (hi.beta === 0) {
      r -= 1;
      continue;
    }
    const pair = lo !== undefined && lo.beta !== 0;
    // u₂ = hi.v on rows ≥ r + 1; u₁ = lo.v on rows ≥ r (a pair), or nothing.
    u2v.set(hi.v);
    let overlap = 0; // u₁·u₂ over rows ≥ r + 1
    if (pair) {
      u1v.set(lo.v);
      for (let i = r + 1; i < n; i++) overlap += (lo.v[i - r] as number) * (hi.v[i - r - 1] as number);
    }
    const c1 = pair ? u1At - r : zerosAt - r; // c1[i] = u₁[i − r]
    const c2 = u2At - r - 1; // c2[i] = u₂[i − r − 1]
    wa.fill(0);
    wb.fill(0);
    const first = pair ? (lo.v[0] as number) : 0; // row r: only u₁
    if (first !== 0) {
      const o = r * k;
      for (let j = 0; j < k; j++) wb[j] = (wb[j] as number) + first * (data[o + j] as number);
    }
    kern.dualDot(0, k, r + 1, n, c1, c2, waAt, wbAt);
    const g = hi.beta * overlap;
    if (pair) for (let j = 0; j < k; j++) wb[j] = (wb[j] as number) - g * (wa[j] as number);
    const b1 = pair ? lo.beta : 0;
    if (first !== 0) {
      const c = b1 * first;
      const o = r * k;
      for (let j = 0; j < k; j++) data[o + j] = (data[o + j] as number) - c * (wb[j] as number);
    }
    kern.dualUpdate(0, k, r + 1, n, c1, c2, b1, hi.beta, waAt, wbAt);
    r -= pair ? 2 : 1;
  }
  y.data.set(data);
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
