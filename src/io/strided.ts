/**
 * Strided views over flat element buffers, as PyTorch storages and Fortran-order NPY files describe
 * them: element `(i0, …, ik)` lives at `offset + Σ ij·stride[j]` (all in elements, not bytes).
 */

/** Writable flat array with numeric indexing (any typed array). */
export interface FlatArray<T> {
  readonly length: number;
  [index: number]: T;
}

/** Row-major (C order) strides of a shape, in elements. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

/** Column-major (Fortran order) strides of a shape, in elements. */
export function fortranStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = 0; d < shape.length; d++) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

/** True when a view with these strides is laid out in C order (size-1 dims may have any stride). */
export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d]!;
    if (size === 0) return true;
    if (size !== 1 && strides[d] !== expected) return false;
    expected *= size;
  }
  return true;
}

/**
 * Half-open element range `[start, end)` of the buffer that a view touches (`start === end` when
 * it has no elements). Strides must be non-negative.
 */
export function viewSpan(offset: number, shape: readonly number[], strides: readonly number[]): [number, number] {
  let last = offset;
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 0) return [offset, offset];
    last += (size - 1) * strides[d]!;
  }
  return [offset, last + 1];
}

/**
 * Copies the view `(offset, shape, strides)` of `src` into `out` in C order.
 * `out.length` must equal the number of elements of `shape`.
 */
export function gatherStrided<T>(
  src: FlatArray<T>,
  offset: number,
  shape: readonly number[],
  strides: readonly number[],
  out: FlatArray<T>,
): void {
  const rank = shape.length;
  if (out.length === 0) return;
  if (rank === 0) {
    out[0] = src[offset]!;
    return;
  }
  const inner = shape[rank - 1]!;
  const innerStride = strides[rank - 1]!;
  const index = new Array<number>(rank).fill(0);
  let base = offset;
  let o = 0;
  for (;;) {
    for (let i = 0, p = base; i < inner; i++, p += innerStride) out[o++] = src[p]!;
    // Advance the outer multi-index like an odometer, skipping the innermost dimension.
    let d = rank - 2;
    for (; d >= 0; d--) {
      const next = index[d]! + 1;
      base += strides[d]!;
      if (next < shape[d]!) {
        index[d] = next;
        break;
      }
      base -= next * strides[d]!;
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

/** Typed arrays that back host arrays. */
export type TypedData = Float32Array | Int32Array | BigInt64Array | Uint8Array;

/** Materialises the view `(offset, shape, strides)` of `src` as a new C-order array of the same type. */
export function gatherView<A extends TypedData>(
  src: A,
  offset: number,
  shape: readonly number[],
  strides: readonly number[],
): A {
  let n = 1;
  for (const d of shape) n *= d;
  const out = new (src.constructor as new (length: number) => A)(n);
  gatherStrided(src as unknown as FlatArray<unknown>, offset, shape, strides, out as unknown as FlatArray<unknown>);
  return out;
}
