import assert from 'node:assert/strict';
import { Rng } from '../../src/tensor/random.js';

/** Test helpers: deterministic data and closeness assertions with explicit tolerances. */

/** Max |a − b| over two arrays of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, `length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (Number.isNaN(d)) return Infinity;
    m = Math.max(m, d);
  }
  return m;
}

/** Asserts |a − b| ≤ atol + rtol·|b| elementwise, reporting the worst element. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: { atol: number; rtol?: number }, what = 'values'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  const rtol = tol.rtol ?? 0;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (Number.isNaN(a) !== Number.isNaN(e)) {
      assert.fail(`${what}[${i}]: ${a} vs ${e}`);
    }
    if (a === e) continue; // also covers equal infinities
    const excess = Math.abs(a - e) - (tol.atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess)) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}[${worst}]: got ${actual[worst]}, expected ${expected[worst]} (atol ${tol.atol}, rtol ${rtol})`);
  }
}

/** Normal samples from a seed. */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  return new Rng(seed).normalArray(n, 0, scale);
}

/** Flattens nested number arrays (JSON fixtures) to a Float64Array. */
export function flat(x: unknown): Float64Array {
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else out.push(v as number);
  };
  walk(x);
  return Float64Array.from(out);
}
