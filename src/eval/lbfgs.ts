import { configError } from '../errors.js';

/**
 * Limited-memory BFGS on the host (Nocedal & Wright, Numerical Optimization, 2nd ed., Alg. 7.4
 * two-loop recursion and Alg. 7.5), for smooth convex objectives of a few thousand to a few
 * hundred thousand parameters, where the expensive part — the objective and its gradient over the
 * data — is one engine run per evaluation and the update directions are cheap host vector work.
 * Line search: backtracking with the Armijo condition; curvature pairs with sᵀy ≤ 1e-10·|s||y| are
 * skipped, so the inverse-Hessian model stays positive definite.
 */

/** Objective value and gradient at x (the gradient is written into `grad`). */
export type Objective = (x: Float64Array, grad: Float64Array) => Promise<number>;

/** Options of {@link minimizeLbfgs}. */
export interface LbfgsOptions {
  /** Curvature pairs kept (default 10). */
  readonly memory?: number;
  /** Iteration cap (default 1000). */
  readonly maxIter?: number;
  /** Stop when max |gradient| ≤ gtol (default 1e-6). */
  readonly gtol?: number;
  /** Stop when the relative decrease of the objective is ≤ ftol (default 1e-10). */
  readonly ftol?: number;
  readonly onIter?: (iter: number, f: number, gradInf: number) => void;
}

/** How a minimization ended. */
export interface LbfgsResult {
  readonly x: Float64Array;
  readonly f: number;
  readonly gradInf: number;
  readonly iterations: number;
  readonly evaluations: number;
  /** 'gtol' | 'ftol' | 'line-search' (no further decrease found: the evaluation precision) | 'max-iter'. */
  readonly reason: 'gtol' | 'ftol' | 'line-search' | 'max-iter';
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function infNorm(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

/** Minimizes `objective` from `x0` (not modified). */
export async function minimizeLbfgs(objective: Objective, x0: Float64Array, o: LbfgsOptions = {}): Promise<LbfgsResult> {
  const m = o.memory ?? 10;
  const maxIter = o.maxIter ?? 1000;
  const gtol = o.gtol ?? 1e-6;
  const ftol = o.ftol ?? 1e-10;
  if (!(Number.isInteger(m) && m >= 1)) throw configError(`L-BFGS: memory must be a positive integer, got ${m}`);
  if (!(Number.isInteger(maxIter) && maxIter >= 0)) throw configError(`L-BFGS: maxIter must be a non-negative integer, got ${maxIter}`);
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = await objective(x, g);
  let evaluations = 1;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const d = new Float64Array(n);
  const alpha = new Float64Array(m);
  let xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  for (let iter = 0; iter < maxIter; iter++) {
    const gInf = infNorm(g);
    o.onIter?.(iter, f, gInf);
    if (gInf <= gtol) return { x, f, gradInf: gInf, iterations: iter, evaluations, reason: 'gtol' };
    // Two-loop recursion: d = -H g.
    d.set(g);
    for (let j = S.length - 1; j >= 0; j--) {
      const a = (rho[j] as number) * dot(S[j] as Float64Array, d);
      alpha[j] = a;
      const y = Y[j] as Float64Array;
      for (let i = 0; i < n; i++) d[i]! -= a * (y[i] as number);
    }
    if (S.length > 0) {
      const sl = S[S.length - 1] as Float64Array;
      const yl = Y[Y.length - 1] as Float64Array;
      const gamma = dot(sl, yl) / dot(yl, yl);
      for (let i = 0; i < n; i++) d[i]! *= gamma;
    } else {
      // First step: a unit-length move along the steepest descent.
      const scale = 1 / Math.max(Math.sqrt(dot(g, g)), 1e-300);
      for (let i = 0; i < n; i++) d[i]! *= scale;
    }
    for (let j = 0; j < S.length; j++) {
      const b = (rho[j] as number) * dot(Y[j] as Float64Array, d);
      const s = S[j] as Float64Array;
      const a = alpha[j] as number;
      for (let i = 0; i < n; i++) d[i]! += (a - b) * (s[i] as number);
    }
    for (let i = 0; i < n; i++) d[i] = -(d[i] as number);
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -(g[i] as number);
      slope = dot(g, d);
    }
    let step = 1;
    let fNew = NaN;
    let accepted = false;
    for (let k = 0; k < 40; k++) {
      for (let i = 0; i < n; i++) xNew[i] = (x[i] as number) + step * (d[i] as number);
      fNew = await objective(xNew, gNew);
      evaluations++;
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) return { x, f, gradInf: gInf, iterations: iter, evaluations, reason: 'line-search' };
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = (xNew[i] as number) - (x[i] as number);
      y[i] = (gNew[i] as number) - (g[i] as number);
    }
    const sy = dot(s, y);
    if (sy > 1e-10 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    const fOld = f;
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    f = fNew;
    if ((fOld - f) / Math.max(Math.abs(fOld), Math.abs(f), 1) <= ftol) {
      return { x, f, gradInf: infNorm(g), iterations: iter + 1, evaluations, reason: 'ftol' };
    }
  }
  return { x, f, gradInf: infNorm(g), iterations: maxIter, evaluations, reason: 'max-iter' };
}
