import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jacobiSvd } from '../../src/linalg/jacobi-svd.js';
import { matrix, maxAbsDifference } from '../../src/linalg/matrix.js';
import { reconstruct } from '../../src/linalg/randomized-svd.js';
import { gaussian, near, orthogonalityError, withSingularValues } from './helpers.js';

describe('jacobiSvd', () => {
  it('solves [[3, 0], [4, 5]] by hand: singular values √45 and √5', () => {
    // AᵀA = [[25, 20], [20, 25]] has eigenvalues 45 and 5.
    const { s, v } = jacobiSvd(matrix(2, 2, [3, 0, 4, 5]));
    near(s[0] as number, Math.sqrt(45), 1e-14, 'σ₁');
    near(s[1] as number, Math.sqrt(5), 1e-14, 'σ₂');
    const h = Math.SQRT1_2;
    [h, h, h, -h].forEach((x, i) => near(v.data[i] as number, x, 1e-14, `V[${i}]`));
  });

  it('recovers known singular values spanning 12 decades (high relative accuracy) and reconstructs A', () => {
    const sv = Array.from({ length: 10 }, (_, i) => 10 ** -i);
    const a = withSingularValues(30, 10, sv, 7);
    const svd = jacobiSvd(a);
    sv.forEach((x, i) => near((svd.s[i] as number) / x, 1, 1e-6, `σ${i} relative`));
    assert.ok(maxAbsDifference(reconstruct(svd), a) < 1e-14);
    assert.ok(orthogonalityError(svd.u) < 1e-13);
    assert.ok(orthogonalityError(svd.v) < 1e-13);
  });

  it('handles wide matrices through the transpose', () => {
    const a = gaussian(6, 15, 2);
    const svd = jacobiSvd(a);
    assert.equal(svd.u.rows, 6);
    assert.equal(svd.v.rows, 15);
    assert.ok(maxAbsDifference(reconstruct(svd), a) < 1e-13);
  });
});
