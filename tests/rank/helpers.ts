import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { matmul, matmulTN, matrix, transpose, type Matrix } from '../../src/linalg/matrix.js';
import { symmetricEigen } from '../../src/linalg/symmetric-eigen.js';
import type { DenseLayer } from '../../src/rank/dense-layer.js';
import { columnMeans, type Embeddings } from '../../src/rank/embeddings.js';
import { lowRankFactors, type LowRankFactors } from '../../src/rank/low-rank-linear.js';
import { Rng } from '../../src/tensor/random.js';

/** Test helpers for src/rank: fixtures, small random problems and float64 reference maths. */

/** Absolute path of a file in tests/fixtures/rank (tests run from dist/tests/rank). */
export function rankFixture(name: string): string {
  return fileURLToPath(new URL(`../../../tests/fixtures/rank/${name}`, import.meta.url));
}

/** The exact values the fixture generator wrote. */
export function expectedFixtures(): { dim: number; train: number[]; val: number[] } {
  return JSON.parse(readFileSync(rankFixture('expected.json'), 'utf8')) as { dim: number; train: number[]; val: number[] };
}

export { assertFails } from '../helpers/errors.js';

/** Rows with a low-rank structure plus noise and a mean (a tiny stand-in for PLM embeddings). */
export function lowRankRows(rows: number, dim: number, rank: number, seed: number, noise = 0.05): Embeddings {
  const rng = new Rng(seed);
  const basis = Array.from({ length: rank * dim }, () => rng.normal());
  const mean = Array.from({ length: dim }, () => rng.normal() * 0.5);
  const data = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const z = Array.from({ length: rank }, (_, k) => rng.normal() * Math.exp(-k / 2));
    for (let j = 0; j < dim; j++) {
      let v = mean[j] as number;
      for (let k = 0; k < rank; k++) v += (z[k] as number) * (basis[k * dim + j] as number);
      data[r * dim + j] = v + noise * rng.normal();
    }
  }
  return { rows, dim, data };
}

/** A random dense layer (out, in) with bias. */
export function randomLayer(inFeatures: number, outFeatures: number, seed: number): DenseLayer {
  const rng = new Rng(seed);
  return {
    inFeatures,
    outFeatures,
    weight: rng.normalArray(inFeatures * outFeatures, 0, 1 / Math.sqrt(inFeatures)),
    bias: rng.normalArray(outFeatures, 0, 0.1),
  };
}

/** Dense outputs W·x + b for every row, in float64. */
export function denseOutputs(l: DenseLayer, x: Embeddings): Float64Array {
  const out = new Float64Array(x.rows * l.outFeatures);
  for (let r = 0; r < x.rows; r++) {
    for (let o = 0; o < l.outFeatures; o++) {
      let s = l.bias[o] as number;
      for (let i = 0; i < l.inFeatures; i++) s += (l.weight[o * l.inFeatures + i] as number) * (x.data[r * x.dim + i] as number);
      out[r * l.outFeatures + o] = s;
    }
  }
  return out;
}

/** Low-rank outputs B·(A·x) + c for every row, in float64. */
export function lowRankOutputs(f: LowRankFactors, x: Embeddings): Float64Array {
  const out = new Float64Array(x.rows * f.outFeatures);
  const h = new Float64Array(f.rank);
  for (let r = 0; r < x.rows; r++) {
    for (let j = 0; j < f.rank; j++) {
      let s = 0;
      for (let i = 0; i < f.inFeatures; i++) s += (f.a[j * f.inFeatures + i] as number) * (x.data[r * x.dim + i] as number);
      h[j] = s;
    }
    for (let o = 0; o < f.outFeatures; o++) {
      let s = f.bias[o] as number;
      for (let j = 0; j < f.rank; j++) s += (f.b[o * f.rank + j] as number) * (h[j] as number);
      out[r * f.outFeatures + o] = s;
    }
  }
  return out;
}

/** Σ (a − b)² in float64. */
export function sumSquaredError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return s;
}

/** Training objective Σ‖teacher(x) − student(x)‖² in float64. */
export function objective(teacher: DenseLayer, f: LowRankFactors, x: Embeddings): number {
  return sumSquaredError(denseOutputs(teacher, x), lowRankOutputs(f, x));
}

/** A⁻¹ of a symmetric positive semi-definite matrix through its eigen-decomposition, pseudo-inverse on its null space (test reference only). */
export function spdInverse(a: Matrix): Matrix {
  const { values, vectors } = symmetricEigen(a);
  const n = a.rows;
  // Moore–Penrose on the numerical null space (inputs confined to a subspace, e.g. LayerNorm
  // outputs, whose features sum to a constant): eigenvalues below 1e-10 of the largest count as 0.
  const floor = 1e-10 * Math.max(Math.abs(values[0] as number), 1e-300);
  const scaled = matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) scaled.data[i * n + j] = Math.abs(values[j] as number) <= floor ? 0 : (vectors.data[i * n + j] as number) / (values[j] as number);
  return matmul(scaled, transpose(vectors));
}

/**
 * The rank-r optimum by brute force: alternating least squares on min ‖Y_c − X_c·Aᵀ·Bᵀ‖ in float64
 * (each half-step is an exact least-squares solve, so the objective never increases), iterated
 * until it changes by less than 1e-10 relative; the bias is then ȳ − B·A·x̄.
 */
export function alternatingLeastSquares(teacher: DenseLayer, x: Embeddings, r: number, seed: number): { value: number; factors: LowRankFactors } {
  const n = x.rows;
  const din = x.dim;
  const dout = teacher.outFeatures;
  const mean = columnMeans(x);
  const y = denseOutputs(teacher, x);
  const xc = matrix(n, din);
  const yc = matrix(n, dout);
  const ymean = new Float64Array(dout);
  for (let i = 0; i < n; i++) for (let o = 0; o < dout; o++) ymean[o] = (ymean[o] as number) + (y[i * dout + o] as number) / n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < din; j++) xc.data[i * din + j] = (x.data[i * din + j] as number) - (mean[j] as number);
    for (let o = 0; o < dout; o++) yc.data[i * dout + o] = (y[i * dout + o] as number) - (ymean[o] as number);
  }
  const xtxInv = spdInverse(matmulTN(xc, xc));
  const xty = matmulTN(xc, yc); // (in, out)
  const rng = new Rng(seed);
  let at = matrix(din, r, Float64Array.from({ length: din * r }, () => rng.normal())); // Aᵀ
  let b = matrix(dout, r);
  const residual = (): number => {
    const pred = matmul(matmul(xc, at), transpose(b));
    return sumSquaredError(pred.data, yc.data);
  };
  let prev = Infinity;
  let value = Infinity;
  for (let it = 0; it < 20000; it++) {
    const h = matmul(xc, at); // (n, r)
    b = transpose(matmul(spdInverse(matmulTN(h, h)), matmulTN(h, yc))); // B = Ycᵀ·H·(HᵀH)⁻¹
    at = matmul(matmul(xtxInv, matmul(xty, b)), spdInverse(matmulTN(b, b))); // Aᵀ = (XᵀX)⁻¹·XᵀY·B·(BᵀB)⁻¹
    value = residual();
    if (prev - value <= 1e-10 * value) break;
    prev = value;
  }
  const a = transpose(at);
  const ba = matmul(b, a);
  const bias = new Float32Array(dout);
  for (let o = 0; o < dout; o++) {
    let s = ymean[o] as number;
    for (let j = 0; j < din; j++) s -= (ba.data[o * din + j] as number) * (mean[j] as number);
    bias[o] = s;
  }
  return { value, factors: lowRankFactors(din, dout, r, Float32Array.from(a.data), Float32Array.from(b.data), bias) };
}

