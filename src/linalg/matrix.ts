import { shapeError } from '../errors.js';

/**
 * Small dense float64 matrices for the linear algebra the engine lacks (QR, symmetric eigen,
 * the small factors of randomized SVD). Row-major, so a row is a contiguous slice: every kernel
 * here walks rows in the inner loop, which keeps V8's loops on sequential memory.
 */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

/** A rows x cols matrix, zero-filled or viewing `data` (row-major, length rows·cols). */
export function matrix(rows: number, cols: number, data?: ArrayLike<number>): Matrix {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw shapeError('matrix', `dims must be non-negative integers, got ${rows} x ${cols}`);
  }
  if (data === undefined) return { rows, cols, data: new Float64Array(rows * cols) };
  if (data.length !== rows * cols) throw shapeError('matrix', `${rows} x ${cols} needs ${rows * cols} values, got ${data.length}`);
  return { rows, cols, data: data instanceof Float64Array ? data : Float64Array.from(data) };
}

/** The n x n identity. */
export function identity(n: number): Matrix {
  const m = matrix(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

/** Element (i, j). */
export function at(m: Matrix, i: number, j: number): number {
  return m.data[i * m.cols + j] as number;
}

/** Aᵀ as a new matrix. */
export function transpose(a: Matrix): Matrix {
  const out = matrix(a.cols, a.rows);
  const { rows, cols, data } = a;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out.data[j * rows + i] = data[i * cols + j] as number;
  }
  return out;
}

/** A·B in float64 (i-k-j loop order: the inner loop runs along rows of B and of the result). */
export function matmul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw shapeError('matmul', `inner dims differ: ${a.rows}x${a.cols} @ ${b.rows}x${b.cols}`);
  const out = matrix(a.rows, b.cols);
  const n = b.cols;
  const ad = a.data;
  const bd = b.data;
  const od = out.data;
  for (let i = 0; i < a.rows; i++) {
    const oi = i * n;
    for (let k = 0; k < a.cols; k++) {
      const aik = ad[i * a.cols + k] as number;
      if (aik === 0) continue;
      const bk = k * n;
      for (let j = 0; j < n; j++) od[oi + j] = (od[oi + j] as number) + aik * (bd[bk + j] as number);
    }
  }
  return out;
}

/** Aᵀ·B in float64 without forming Aᵀ (accumulates row outer products). */
export function matmulTN(a: Matrix, b: Matrix): Matrix {
  if (a.rows !== b.rows) throw shapeError('matmulTN', `row counts differ: (${a.rows}x${a.cols})ᵀ @ ${b.rows}x${b.cols}`);
  const out = matrix(a.cols, b.cols);
  const n = b.cols;
  const ad = a.data;
  const bd = b.data;
  const od = out.data;
  for (let k = 0; k < a.rows; k++) {
    const bk = k * n;
    for (let i = 0; i < a.cols; i++) {
      const aki = ad[k * a.cols + i] as number;
      if (aki === 0) continue;
      const oi = i * n;
      for (let j = 0; j < n; j++) od[oi + j] = (od[oi + j] as number) + aki * (bd[bk + j] as number);
    }
  }
  return out;
}

/** Columns [start, end) of A as a new matrix. */
export function sliceColumns(a: Matrix, start: number, end: number): Matrix {
  if (!(start >= 0 && start <= end && end <= a.cols)) throw shapeError('sliceColumns', `[${start}, ${end}) out of 0..${a.cols}`);
  const w = end - start;
  const out = matrix(a.rows, w);
  for (let i = 0; i < a.rows; i++) out.data.set(a.data.subarray(i * a.cols + start, i * a.cols + end), i * w);
  return out;
}

/** Column j as a new vector. */
export function column(a: Matrix, j: number): Float64Array {
  const out = new Float64Array(a.rows);
  for (let i = 0; i < a.rows; i++) out[i] = a.data[i * a.cols + j] as number;
  return out;
}

/** Frobenius norm. */
export function frobeniusNorm(a: Matrix): number {
  let s = 0;
  for (const v of a.data) s += v * v;
  return Math.sqrt(s);
}

/** max |Aᵢⱼ − Bᵢⱼ| (shapes must match). */
export function maxAbsDifference(a: Matrix, b: Matrix): number {
  if (a.rows !== b.rows || a.cols !== b.cols) throw shapeError('maxAbsDifference', `${a.rows}x${a.cols} vs ${b.rows}x${b.cols}`);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs((a.data[i] as number) - (b.data[i] as number)));
  return m;
}

/** (A + Aᵀ)/2 of a square matrix, removing rounding asymmetry (e.g. of a float32 Gram matrix). */
export function symmetrize(a: Matrix): Matrix {
  if (a.rows !== a.cols) throw shapeError('symmetrize', `needs a square matrix, got ${a.rows}x${a.cols}`);
  const n = a.rows;
  const out = matrix(n, n);
  const x = a.data;
  const y = out.data;
  // In 32 x 32 tiles, so the column-wise reads of Aᵀ stay in cache (a row-by-row sweep misses on
  // every element of Aᵀ once n rows no longer fit).
  const tile = 32;
  for (let bi = 0; bi < n; bi += tile) {
    const iEnd = Math.min(n, bi + tile);
    for (let bj = 0; bj <= bi; bj += tile) {
      const jEnd = Math.min(n, bj + tile);
      for (let i = bi; i < iEnd; i++) {
        const top = Math.min(jEnd, i + 1);
        for (let j = bj; j < top; j++) {
          const v = 0.5 * ((x[i * n + j] as number) + (x[j * n + i] as number));
          y[i * n + j] = v;
          y[j * n + i] = v;
        }
      }
    }
  }
  return out;
}

/** A copy as float32 data (row-major), e.g. to hand to the engine. */
export function toFloat32(a: Matrix): Float32Array {
  return Float32Array.from(a.data);
}

/** A float32 row-major buffer viewed as a float64 matrix (copies and widens). */
export function fromFloat32(rows: number, cols: number, data: Float32Array): Matrix {
  return matrix(rows, cols, Float64Array.from(data));
}
