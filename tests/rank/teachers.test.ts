import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jacobiSvd } from '../../src/linalg/jacobi-svd.js';
import { matrix } from '../../src/linalg/matrix.js';
import { makeTeacher, SPECTRAL_DECAY, SPECTRAL_SCALE } from '../../src/rank/teachers.js';
import { Rng } from '../../src/tensor/random.js';
import { lowRankRows } from './helpers.js';

const task = { steps: 60, lr: 1e-3, batchSize: 16, noise: 0.3 };

describe('teachers', () => {
  it('random: PyTorch default Linear init, weight and bias within ±1/√fan_in, roughly uniform', async () => {
    const x = lowRankRows(10, 64, 4, 1);
    const t = await makeTeacher('random', x, new Rng(2), task);
    const bound = 1 / Math.sqrt(64);
    for (const v of [...t.weight, ...t.bias]) assert.ok(Math.abs(v) <= bound);
    // U(−c, c) has variance c²/3.
    const variance = t.weight.reduce((s, v) => s + v * v, 0) / t.weight.length;
    assert.ok(Math.abs(variance / (bound * bound / 3) - 1) < 0.05, `variance ratio ${variance / (bound * bound / 3)}`);
    assert.deepEqual(Array.from((await makeTeacher('random', x, new Rng(2), task)).weight), Array.from(t.weight), 'deterministic');
  });

  it('spectral: singular values are exactly 2·exp(−i/100) and the bias is zero', async () => {
    const d = 40;
    const t = await makeTeacher('spectral', lowRankRows(4, d, 2, 3), new Rng(4), task);
    const s = jacobiSvd(matrix(d, d, Float64Array.from(t.weight))).s;
    s.forEach((v, i) => assert.ok(Math.abs(v - SPECTRAL_SCALE * Math.exp(-i / SPECTRAL_DECAY)) < 2e-6, `σ${i} = ${v}`));
    assert.ok(t.bias.every((v) => v === 0));
  });

  it('task-trained: Adam on denoising lowers the loss from the default init, reproducibly', async () => {
    const x = lowRankRows(64, 16, 3, 5, 0.05);
    const t = await makeTeacher('task-trained', x, new Rng(6), task);
    assert.equal(t.history.length, 60);
    const first = t.history.slice(0, 5).reduce((a, b) => a + b, 0) / 5;
    const last = t.history.slice(-5).reduce((a, b) => a + b, 0) / 5;
    assert.ok(last < 0.7 * first, `loss ${first} -> ${last}`);
    const again = await makeTeacher('task-trained', x, new Rng(6), task);
    assert.deepEqual(Array.from(again.weight), Array.from(t.weight));
  });
});
