import { numel, type DType } from '../tensor/host-array.js';
import { stridesOf } from '../tensor/shape.js';
import type { RefValue } from './primitive.js';

/** Helpers for the float64 reference kernels: clarity over speed, shapes are small in tests. */

/** For every flat index of `outShape`, the flat index of a broadcast input of `inShape`. */
export function broadcastMap(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const n = numel(outShape);
  const map = new Int32Array(n);
  const rank = outShape.length;
  const inStr = stridesOf(inShape);
  const eff = new Array<number>(rank).fill(0);
  for (let i = 0; i < inShape.length; i++) {
    const o = rank - inShape.length + i;
    eff[o] = inShape[i] === 1 ? 0 : (inStr[i] ?? 0);
  }
  const idx = new Array<number>(rank).fill(0);
  for (let f = 0; f < n; f++) {
    let off = 0;
    for (let d = 0; d < rank; d++) off += (idx[d] ?? 0) * (eff[d] ?? 0);
    map[f] = off;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = (idx[d] ?? 0) + 1;
      if ((idx[d] ?? 0) < (outShape[d] ?? 1)) break;
      idx[d] = 0;
    }
  }
  return map;
}

/** Applies `f` elementwise over broadcast inputs. */
export function refMap(inputs: readonly RefValue[], outShape: readonly number[], f: (...xs: number[]) => number): Float64Array {
  const n = numel(outShape);
  const maps = inputs.map((x) => broadcastMap(x.shape, outShape));
  const out = new Float64Array(n);
  const args = new Array<number>(inputs.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < inputs.length; k++) args[k] = (inputs[k] as RefValue).data[(maps[k] as Int32Array)[i] as number] as number;
    out[i] = f(...args);
  }
  return out;
}

/** Iterates all multi-indices of a shape in C order. */
export function* multiIndices(shape: readonly number[]): Generator<number[]> {
  const n = numel(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let f = 0; f < n; f++) {
    yield idx;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = (idx[d] ?? 0) + 1;
      if ((idx[d] ?? 0) < (shape[d] ?? 1)) break;
      idx[d] = 0;
    }
  }
}

/** Flat offset of a multi-index. */
export function offsetOf(idx: readonly number[], strides: readonly number[]): number {
  let o = 0;
  for (let d = 0; d < idx.length; d++) o += (idx[d] ?? 0) * (strides[d] ?? 0);
  return o;
}

/** Rounds a float64 result to what the dtype can hold (ints truncate toward zero, bools to 0/1). */
export function coerce(dtype: DType, x: number): number {
  if (dtype === 'bool') return x !== 0 ? 1 : 0;
  if (dtype === 'int32' || dtype === 'int64') return Math.trunc(x);
  return x;
}

/** Abramowitz-Stegun-free erf: a series/continued-fraction erf accurate to ~1e-15 in float64. */
export function erf64(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    const r = (2 / Math.sqrt(Math.PI)) * sum;
    return x < 0 ? -r : r;
  }
  // Continued fraction for erfc (Lentz), converges fast for |x| >= 2.5.
  const tiny = 1e-300;
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = d === 0 ? tiny : d;
    c = ax + an / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  const r = 1 - erfc;
  return x < 0 ? -r : r;
}
