import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEmbeddings, columnMeans, holdOutSplit, readEmbeddings, type Embeddings } from '../../src/rank/embeddings.js';
import { Rng } from '../../src/tensor/random.js';
import { assertFails, expectedFixtures, rankFixture } from './helpers.js';

const fx = rankFixture;

describe('readEmbeddings: fixtures written by PyTorch and NumPy', () => {
  const want = expectedFixtures();
  for (const [file, key] of [
    ['train.pt', 'train'],
    ['train.npy', 'train'],
    ['train.safetensors', 'train'],
    ['val.pt', 'val'],
    ['val.npy', 'val'],
  ] as const) {
    it(`reads ${file} exactly`, () => {
      const e = readEmbeddings(fx(file));
      assert.equal(e.dim, want.dim);
      assert.equal(e.rows, want[key].length / want.dim);
      assert.deepEqual(Array.from(e.data), want[key].map(Math.fround));
    });
  }

  it('reads float64 .pt and float16 .npy as float32', () => {
    assert.deepEqual(Array.from(readEmbeddings(fx('train-f64.pt')).data), expectedFixtures().train.map(Math.fround));
    const f16 = readEmbeddings(fx('val-f16.npy'));
    assert.deepEqual([f16.rows, f16.dim], [12, 16]);
    const v = expectedFixtures().val[0] as number;
    assert.ok(Math.abs((f16.data[0] as number) - v) <= Math.abs(v) * 2 ** -10, 'float16 rounding only');
  });

  it('picks a named tensor of a multi-tensor safetensors file and asks for a name otherwise', () => {
    const v = readEmbeddings(fx('multi.safetensors'), { tensor: 'val' });
    assert.deepEqual(Array.from(v.data), expectedFixtures().val.map(Math.fround));
    assertFails(() => readEmbeddings(fx('multi.safetensors'), { flag: '--train' }), 'config', '--train', 'holds 2 tensors', "'train', 'val'", '--tensor');
    assertFails(() => readEmbeddings(fx('multi.safetensors'), { tensor: 'nope' }), 'checkpoint', "no tensor 'nope'");
    assertFails(() => readEmbeddings(fx('train.npy'), { tensor: 'x' }), 'config', '--tensor names a tensor inside a .safetensors file');
  });
});

describe('readEmbeddings: one clear error per bad input', () => {
  it('rejects tensors that are not 2-D', () => {
    assertFails(() => readEmbeddings(fx('cube.pt'), { flag: '--train' }), 'data', '--train', 'cube.pt', 'expected a 2-D tensor', '[4, 10, 16] (3-D)');
    assertFails(() => readEmbeddings(fx('vector.npy')), 'data', '[16] (1-D)');
  });

  it('rejects NaN and infinities, naming the first position and the count', () => {
    assertFails(() => readEmbeddings(fx('nan.npy')), 'data', '2 non-finite value(s)', 'NaN at row 2, column 3');
    assertFails(() => readEmbeddings(fx('inf.pt')), 'data', '1 non-finite value(s)', '-Infinity at row 1, column 7');
  });

  it('rejects empty files and empty matrices', () => {
    assertFails(() => readEmbeddings(fx('empty.pt')), 'checkpoint', 'empty file');
    assertFails(() => readEmbeddings(fx('empty.npy')), 'data', 'empty file');
    assertFails(() => readEmbeddings(fx('no-rows.npy')), 'data', 'empty embedding matrix', '[0, 16]');
  });

  it('refuses a hostile .pt without running it, and non-tensor or integer contents', () => {
    assertFails(() => readEmbeddings(fx('hostile.pt'), { flag: '--val' }), 'checkpoint', '--val', 'hostile.pt', "refusing to load global 'os.system'");
    assertFails(() => readEmbeddings(fx('state-dict.pt')), 'data', 'expected a single tensor', 'a dict of 2 entries');
    assertFails(() => readEmbeddings(fx('ints.pt')), 'data', 'expected floating-point embeddings, got int64');
  });

  it('rejects unknown extensions and missing files', () => {
    assertFails(() => readEmbeddings('emb.csv'), 'config', "unknown embedding file type '.csv'", '.pt, .pth, .npy, .safetensors');
    assertFails(() => readEmbeddings(fx('missing.npy')), 'io', 'missing.npy');
  });

  it('checkEmbeddings accepts a finite 2-D float matrix as is', () => {
    const data = Float32Array.of(1, 2, 3, 4, 5, 6);
    const e = checkEmbeddings({ dtype: 'float32', shape: [3, 2], data }, 'x');
    assert.equal(e.data, data);
    assert.deepEqual([e.rows, e.dim], [3, 2]);
  });
});

describe('holdOutSplit and columnMeans', () => {
  it('splits disjointly and reproducibly, keeping row order', () => {
    const m: Embeddings = { rows: 10, dim: 2, data: Float32Array.from({ length: 20 }, (_, i) => i) };
    const a = holdOutSplit(m, 0.3, new Rng(1));
    const b = holdOutSplit(m, 0.3, new Rng(1));
    assert.deepEqual(a.valIndex, b.valIndex);
    assert.equal(a.val.rows, 3);
    assert.equal(a.train.rows, 7);
    const firsts = (e: Embeddings): number[] => Array.from({ length: e.rows }, (_, r) => (e.data[r * 2] as number) / 2);
    const all = [...firsts(a.train), ...firsts(a.val)].sort((x, y) => x - y);
    assert.deepEqual(all, Array.from({ length: 10 }, (_, i) => i));
    assert.deepEqual(firsts(a.val), a.valIndex);
    assert.throws(() => holdOutSplit({ rows: 1, dim: 2, data: new Float32Array(2) }, 0.5, new Rng(1)), /cannot hold out/);
  });

  it('computes column means by hand', () => {
    assert.deepEqual(Array.from(columnMeans({ rows: 2, dim: 2, data: Float32Array.of(1, 2, 3, 6) })), [2, 4]);
  });
});
