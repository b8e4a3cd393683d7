import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tsneMap } from '../../src/eval/tsne.js';
import { umapMap } from '../../src/eval/umap.js';
import { Rng } from '../../src/tensor/random.js';

// 2-D maps are pictures, so they are checked for what a picture must show: points of well-separated
// clusters land among their own cluster (k-nearest-neighbour label agreement in the map), a seed
// gives the same map, and bad settings are refused.

/** Three Gaussian clusters in 12 dimensions, 20 points each, centres 10 apart, unit noise. */
function clusters(): { x: Float32Array; labels: number[]; rows: number; dim: number } {
  const rng = new Rng(4);
  const dim = 12;
  const centres = [0, 1, 2].map((c) => Array.from({ length: dim }, (_, j) => (j % 3 === c ? 10 : 0)));
  const labels: number[] = [];
  const x: number[] = [];
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 20; i++) {
      labels.push(c);
      for (let j = 0; j < dim; j++) x.push((centres[c]![j] as number) + rng.normal());
    }
  }
  return { x: Float32Array.from(x), labels, rows: labels.length, dim };
}

/** Fraction of points whose k nearest neighbours in the map share their label. */
function knnAgreement(points: Float64Array, labels: readonly number[], k: number): number {
  let agree = 0;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const d = Array.from({ length: n }, (_, j) => ({ j, d: (points[2 * i]! - points[2 * j]!) ** 2 + (points[2 * i + 1]! - points[2 * j + 1]!) ** 2 })).filter((e) => e.j !== i);
    d.sort((a, b) => a.d - b.d);
    agree += d.slice(0, k).filter((e) => labels[e.j] === labels[i]).length / k;
  }
  return agree / n;
}

test('UMAP: clusters stay together, a seed gives the same map, another seed another map', () => {
  const c = clusters();
  const a = umapMap(c.x, c.rows, c.dim, { neighbours: 10, seed: 1 });
  assert.equal(a.length, 2 * c.rows);
  assert.ok(knnAgreement(a, c.labels, 5) >= 0.95, `k-NN agreement ${knnAgreement(a, c.labels, 5)}`);
  assert.deepEqual(umapMap(c.x, c.rows, c.dim, { neighbours: 10, seed: 1 }), a);
  assert.notDeepEqual(umapMap(c.x, c.rows, c.dim, { neighbours: 10, seed: 2 }), a);
  // Shuffled labels are the control: the statistic is not trivially high.
  const shuffled = c.labels.map((_, i) => c.labels[(i * 7) % c.rows] as number);
  assert.ok(knnAgreement(a, shuffled, 5) < 0.6);
});

test('t-SNE: clusters stay together and a seed gives the same map', () => {
  const c = clusters();
  const a = tsneMap(c.x, c.rows, c.dim, { perplexity: 10, iterations: 300, seed: 1 });
  assert.ok(knnAgreement(a, c.labels, 5) >= 0.95, `k-NN agreement ${knnAgreement(a, c.labels, 5)}`);
  assert.deepEqual(tsneMap(c.x, c.rows, c.dim, { perplexity: 10, iterations: 300, seed: 1 }), a);
});

test('UMAP refuses settings it cannot honour', () => {
  const c = clusters();
  assert.throws(() => umapMap(c.x, c.rows, c.dim, { neighbours: 60 }), /--neighbours must be an integer >= 2 and below the number of points \(60\), got 60/);
  assert.throws(() => umapMap(c.x, c.rows, c.dim, { minDist: 2 }), /--min-dist must lie in \[0, 1\], got 2/);
  assert.throws(() => umapMap(c.x.subarray(0, 2 * c.dim), 2, c.dim), /UMAP needs at least 3 points/);
});
