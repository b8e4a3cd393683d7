import { shapeError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { matrix, symmetrize, type Matrix } from './matrix.js';

/**
 * The big products of the linear algebra, run on the engine (ONNX Runtime, float32): Gram
 * matrices of data and weights, and the tall-skinny products of randomized SVD. Each distinct
 * shape compiles one small graph, cached by structure, so repeated calls cost one ORT run.
 */

/** A dense float32 row-major matrix (the engine's side of the boundary). */
export interface F32Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/** A float32 matrix viewing `data`. */
export function f32Matrix(rows: number, cols: number, data: Float32Array): F32Matrix {
  if (data.length !== rows * cols) throw shapeError('f32Matrix', `${rows} x ${cols} needs ${rows * cols} values, got ${data.length}`);
  return { rows, cols, data };
}

/** Rounds a float64 matrix to float32. */
export function toF32(a: Matrix): F32Matrix {
  return { rows: a.rows, cols: a.cols, data: Float32Array.from(a.data) };
}

/** Widens a float32 matrix to float64. */
export function toF64(a: F32Matrix): Matrix {
  return matrix(a.rows, a.cols, Float64Array.from(a.data));
}

function asTensor(a: F32Matrix | Matrix): Tensor {
  const data = a.data instanceof Float32Array ? a.data : Float32Array.from(a.data);
  return Tensor.from(data, [a.rows, a.cols]);
}

/** op(A)·op(B) on the engine, where op transposes when asked: (m, k) @ (k, n) -> (m, n). */
export async function engineMatmul(a: F32Matrix | Matrix, b: F32Matrix | Matrix, opts: { transA?: boolean; transB?: boolean } = {}): Promise<F32Matrix> {
  let ta = asTensor(a);
  let tb = asTensor(b);
  if (opts.transA === true) ta = ta.mT;
  if (opts.transB === true) tb = tb.mT;
  if (ta.shape[1] !== tb.shape[0]) {
    throw shapeError('engineMatmul', `inner dims differ: ${ta.shape.join('x')} @ ${tb.shape.join('x')}`);
  }
  const out = ta.matmul(tb); // (m, k) @ (k, n) -> (m, n)
  const data = (await out.toArray()) as Float32Array;
  return { rows: out.shape[0] as number, cols: out.shape[1] as number, data };
}

/** AᵀA (cols x cols) on the engine, returned in float64 and exactly symmetric. */
export async function engineGram(a: F32Matrix): Promise<Matrix> {
  const g = await engineMatmul(a, a, { transA: true }); // (n, m) @ (m, n) -> (n, n)
  return symmetrize(toF64(g));
}

/** A·Aᵀ (rows x rows) on the engine, returned in float64 and exactly symmetric. */
export async function engineOuterGram(a: F32Matrix): Promise<Matrix> {
  const g = await engineMatmul(a, a, { transB: true }); // (m, n) @ (n, m) -> (m, m)
  return symmetrize(toF64(g));
}
