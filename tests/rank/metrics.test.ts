import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cosineImprovement, fidelity, gapTo, median, mseReduction } from '../../src/rank/metrics.js';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('fidelity metrics (hand-computed)', () => {
  it('cosine, MSE and relative MSE of two rows', () => {
    // Row 1: pred (1, 0), target (1, 1): cos = 1/√2, squared error 1.
    // Row 2: pred (0, 2), target (0, 1): cos = 1, squared error 1.
    // MSE = 2/4 = 0.5; mean(target²) = (1 + 1 + 0 + 1)/4 = 0.75; rel = 2/3.
    const f = fidelity(Float32Array.of(1, 0, 0, 2), Float32Array.of(1, 1, 0, 1), 2, 2);
    close(f.cosine, (Math.SQRT1_2 + 1) / 2);
    close(f.mse, 0.5);
    close(f.relMse, 2 / 3);
  });

  it('follows PyTorch for zero vectors (eps 1e-8 in the denominator gives cosine 0)', () => {
    const f = fidelity(Float32Array.of(0, 0), Float32Array.of(3, 4), 1, 2);
    close(f.cosine, 0);
    close(f.mse, 12.5);
    close(f.relMse, 1);
  });

  it('is perfect for identical outputs', () => {
    const y = Float32Array.of(0.5, -2, 3, 1e-3);
    const f = fidelity(y, y, 2, 2);
    close(f.cosine, 1, 1e-15);
    assert.equal(f.mse, 0);
    assert.equal(f.relMse, 0);
  });

  it('improvement, reduction (percent) and gap to the optimum', () => {
    const svd = { cosine: 0.5, mse: 2, relMse: 0.8 };
    const student = { cosine: 0.99, mse: 0.02, relMse: 0.008 };
    const optimum = { cosine: 0.995, mse: 0.01, relMse: 0.004 };
    close(cosineImprovement(student, svd), 0.49);
    close(mseReduction(student, svd), 99);
    const g = gapTo(student, optimum);
    close(g.mse, 0.01);
    close(g.relative, 1);
    close(g.cosine, 0.005);
  });

  it('median of odd and even lists; shape errors', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.throws(() => median([]), /at least one/);
    assert.throws(() => fidelity(new Float32Array(3), new Float32Array(4), 2, 2), /expected 2 x 2/);
  });
});
