import { dtypeError, shapeError } from '../errors.js';

/**
 * Host-side arrays: the plain data that crosses file formats, the CLI and the engine's boundary.
 * Floats are always float32 in memory (file readers upcast float16/bfloat16 and downcast float64);
 * indices are int32 or int64; masks are bool stored as one byte each.
 */
export type DType = 'float32' | 'int32' | 'int64' | 'bool';

/** Typed array backing each dtype. */
export interface DataOf {
  float32: Float32Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
}

/** A dense C-order array on the host. */
export interface HostArray<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: DataOf[D];
}

/** Number of elements of a shape (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Allocates a zero-filled typed array for a dtype. */
export function allocData<D extends DType>(dtype: D, n: number): DataOf[D] {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n) as DataOf[D];
    case 'int32':
      return new Int32Array(n) as DataOf[D];
    case 'int64':
      return new BigInt64Array(n) as DataOf[D];
    case 'bool':
      return new Uint8Array(n) as DataOf[D];
    default:
      throw dtypeError('allocData', `unknown dtype ${String(dtype)}`);
  }
}

/** Builds a host array, checking that the data length matches the shape. */
export function hostArray<D extends DType>(dtype: D, shape: readonly number[], data: DataOf[D]): HostArray<D> {
  const n = numel(shape);
  if (data.length !== n) {
    throw shapeError('hostArray', `shape [${shape.join(', ')}] needs ${n} elements, data has ${data.length}`);
  }
  return { dtype, shape: [...shape], data };
}
