import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contiguousStrides, fortranStrides, gatherView, isContiguous, viewSpan } from '../../src/io/strided.js';

describe('strides', () => {
  it('computes C and Fortran strides', () => {
    assert.deepEqual(contiguousStrides([2, 3, 4]), [12, 4, 1]);
    assert.deepEqual(fortranStrides([2, 3, 4]), [1, 2, 6]);
    assert.deepEqual(contiguousStrides([]), []);
  });

  it('recognises contiguous layouts, ignoring strides of size-1 dims', () => {
    assert.equal(isContiguous([2, 3], [3, 1]), true);
    assert.equal(isContiguous([3, 2], [1, 3]), false);
    assert.equal(isContiguous([1, 4], [99, 1]), true);
    assert.equal(isContiguous([3, 4], [0, 1]), false);
  });

  it('finds the touched element range', () => {
    assert.deepEqual(viewSpan(8, [3, 3], [6, 1]), [8, 8 + 2 * 6 + 2 + 1]);
    assert.deepEqual(viewSpan(5, [0, 3], [3, 1]), [5, 5]);
    assert.deepEqual(viewSpan(2, [], []), [2, 3]);
  });
});

describe('gatherView', () => {
  // base = 0..11 as a 3x4 matrix in C order.
  const base = Float32Array.from({ length: 12 }, (_, i) => i);

  it('transposes', () => {
    const t = gatherView(base, 0, [4, 3], [1, 4]);
    assert.deepEqual([...t], [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
  });

  it('takes a block with an offset', () => {
    // rows 1..2, cols 1..2 -> elements 5, 6, 9, 10
    assert.deepEqual([...gatherView(base, 5, [2, 2], [4, 1])], [5, 6, 9, 10]);
  });

  it('broadcasts with stride 0 and handles rank 0 and 3', () => {
    assert.deepEqual([...gatherView(base, 4, [2, 3], [0, 1])], [4, 5, 6, 4, 5, 6]);
    assert.deepEqual([...gatherView(base, 7, [], [])], [7]);
    // 2x2x3 view with strides (6, 1, 2): element (i,j,k) = 6i + j + 2k
    assert.deepEqual([...gatherView(base, 0, [2, 2, 3], [6, 1, 2])], [0, 2, 4, 1, 3, 5, 6, 8, 10, 7, 9, 11]);
  });

  it('keeps the typed array kind', () => {
    const ints = BigInt64Array.from([1n, 2n, 3n, 4n]);
    const out = gatherView(ints, 0, [2, 2], [1, 2]);
    assert.ok(out instanceof BigInt64Array);
    assert.deepEqual([...out], [1n, 3n, 2n, 4n]);
  });
});
