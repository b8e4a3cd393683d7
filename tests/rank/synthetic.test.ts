import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { engineGram } from '../../src/linalg/engine.js';
import { symmetricEigen } from '../../src/linalg/symmetric-eigen.js';
import { columnMeans } from '../../src/rank/embeddings.js';
import { PLM_LIKE, SEED_SCALE, syntheticEmbeddings } from '../../src/rank/synthetic.js';
import { Rng } from '../../src/tensor/random.js';

describe('synthetic embeddings', () => {
  it('seed: N(0, 1) with the first 100 dimensions scaled by 5', () => {
    const { train, val } = syntheticEmbeddings('seed', { train: 2000, val: 10, dim: 120 }, new Rng(1));
    assert.deepEqual([train.rows, train.dim, val.rows], [2000, 120, 10]);
    const variance = (j: number): number => {
      let s = 0;
      for (let r = 0; r < train.rows; r++) s += (train.data[r * 120 + j] as number) ** 2;
      return s / train.rows;
    };
    assert.ok(Math.abs(variance(0) / (SEED_SCALE * SEED_SCALE) - 1) < 0.1);
    assert.ok(Math.abs(variance(99) / (SEED_SCALE * SEED_SCALE) - 1) < 0.1);
    assert.ok(Math.abs(variance(100) - 1) < 0.1);
  });

  it('plm-like: low intrinsic dimension with a decaying spectrum, as documented', async () => {
    const dim = 256;
    const { train } = syntheticEmbeddings('plm-like', { train: 3000, val: 10, dim }, new Rng(2));
    const mean = columnMeans(train);
    const centred = Float32Array.from(train.data, (v, i) => v - (mean[i % dim] as number));
    const cov = await engineGram({ rows: train.rows, cols: dim, data: centred });
    const values = symmetricEigen(cov, { vectors: 0 }).values;
    const total = values.reduce((a, b) => a + b, 0);
    const sq = values.reduce((a, b) => a + b * b, 0);
    const pr = (total * total) / sq;
    assert.ok(pr > 8 && pr < 16, `participation ratio ${pr}`);
    const top = values.subarray(0, PLM_LIKE.latentDim).reduce((a, b) => a + b, 0) / total;
    assert.ok(top > 0.95, `top-${PLM_LIKE.latentDim} variance fraction ${top}`);
    assert.ok(values[0]! / values[20]! > 10, 'decaying spectrum');
  });

  it('is deterministic per seed and draws train and val from one population', () => {
    const a = syntheticEmbeddings('plm-like', { train: 30, val: 20, dim: 32 }, new Rng(3));
    const b = syntheticEmbeddings('plm-like', { train: 30, val: 20, dim: 32 }, new Rng(3));
    assert.deepEqual(Array.from(a.train.data), Array.from(b.train.data));
    assert.deepEqual(Array.from(a.val.data), Array.from(b.val.data));
    assert.notDeepEqual(Array.from(a.train.data.subarray(0, 32)), Array.from(a.val.data.subarray(0, 32)));
    assert.throws(() => syntheticEmbeddings('seed', { train: 0, val: 1, dim: 4 }, new Rng(1)), /positive integers/);
  });
});
