import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DenseLayer } from '../../src/rank/dense-layer.js';
import type { Embeddings } from '../../src/rank/embeddings.js';
import type { LowRankFactors } from '../../src/rank/low-rank-linear.js';
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
