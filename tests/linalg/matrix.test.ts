import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isProtdistilError } from '../../src/errors.js';
import { matrix, symmetrize } from '../../src/linalg/matrix.js';

test('symmetrize is (A + Aᵀ)/2 entry by entry, across tile edges (n = 70, not a multiple of the tile)', () => {
  const n = 70;
  const a = matrix(n, n, Float64Array.from({ length: n * n }, (_, i) => Math.sin(1.7 * i) * (1 + (i % 13))));
  const s = symmetrize(a);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      assert.equal(s.data[i * n + j], 0.5 * (a.data[i * n + j]! + a.data[j * n + i]!), `(${i}, ${j})`);
    }
  }
  assert.throws(() => symmetrize(matrix(2, 3)), (e) => isProtdistilError(e, 'shape'));
});
