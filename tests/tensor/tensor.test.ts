import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isProtdistilError } from '../../src/errors.js';
import { sessionCache } from '../../src/runtime/program.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';

test('shape errors name the op and both shapes', () => {
  const a = Tensor.zeros([3, 4]);
  const b = Tensor.zeros([5, 2]);
  assert.throws(() => a.matmul(b), (e) => isProtdistilError(e, 'shape') && e.message.includes('matmul') && e.message.includes('[3, 4]') && e.message.includes('[5, 2]'));
  assert.throws(() => a.add(Tensor.zeros([2, 4])), (e) => isProtdistilError(e, 'shape') && e.message.startsWith('add:') && e.message.includes('[3, 4]') && e.message.includes('[2, 4]'));
  assert.throws(() => a.reshape([5, -1]), (e) => isProtdistilError(e, 'shape') && e.message.includes('reshape'));
  assert.throws(() => a.transpose([0, 0]), (e) => isProtdistilError(e, 'shape'));
  assert.throws(() => a.sum(2), (e) => isProtdistilError(e, 'shape') && e.message.includes('axis 2'));
});

test('dtype errors: mixed dtypes and float-only ops on ints', () => {
  const f = Tensor.zeros([2]);
  const i = Tensor.zeros([2], 'int64');
  assert.throws(() => f.add(i), (e) => isProtdistilError(e, 'dtype') && e.message.includes('float32') && e.message.includes('int64'));
  assert.throws(() => i.exp(), (e) => isProtdistilError(e, 'dtype'));
  assert.throws(() => f.where(1, 2), (e) => isProtdistilError(e, 'dtype') && e.message.includes('bool'));
});

test('graphs of the same structure share one compiled session; new shapes compile anew', async () => {
  const rng = new Rng(4);
  const f = (x: Tensor): Tensor => x.mul(2).add(1).tanh().sum(0);
  await f(Tensor.randn([3, 5], rng)).toArray();
  const n = sessionCache().size;
  const y = (await f(Tensor.randn([3, 5], rng)).toArray()) as Float32Array;
  assert.equal(sessionCache().size, n, 'same structure and shapes: cached');
  assert.equal(y.length, 5);
  await f(Tensor.randn([4, 5], rng)).toArray();
  assert.equal(sessionCache().size, n + 1, 'a new shape compiles once');
});

test('results of separate realizations are independent buffers with correct values', async () => {
  const a = Tensor.from([1, 2, 3], [3]);
  const b = a.mul(2);
  const c = a.mul(3);
  const [vb, vc] = [(await b.toArray()) as Float32Array, (await c.toArray()) as Float32Array];
  assert.deepEqual(Array.from(vb), [2, 4, 6]);
  assert.deepEqual(Array.from(vc), [3, 6, 9]);
  assert.notEqual(vb, vc);
});

test('int64 gather and bool masks round-trip through ORT', async () => {
  const table = Tensor.from([0, 1, 10, 11, 20, 21], [3, 2]);
  const idx = Tensor.from([2, 0, 2], [3], 'int64');
  assert.deepEqual(Array.from((await table.gather(idx).toArray()) as Float32Array), [20, 21, 0, 1, 20, 21]);
  const m = Tensor.from([1, 5, 3], [3]).greater(2);
  assert.deepEqual(Array.from((await m.toArray()) as Uint8Array), [0, 1, 1]);
  const s = Tensor.from([3, 4], [2], 'int64').add(1).mul(2);
  assert.deepEqual(Array.from((await s.toArray()) as BigInt64Array), [8n, 10n]);
});

test('a placeholder without data cannot be realized (clear runtime error)', async () => {
  const p = Tensor.placeholder([2]);
  await assert.rejects(p.add(1).toArray(), (e) => isProtdistilError(e, 'runtime') && e.message.includes('placeholder'));
});

test('seeded random tensors are reproducible', async () => {
  const a = (await Tensor.randn([4], new Rng(42)).toArray()) as Float32Array;
  const b = (await Tensor.randn([4], new Rng(42)).toArray()) as Float32Array;
  const c = (await Tensor.randn([4], new Rng(43)).toArray()) as Float32Array;
  assert.deepEqual(Array.from(a), Array.from(b));
  assert.notDeepEqual(Array.from(a), Array.from(c));
});

test('a transpose perm of the wrong length is a shape error naming the perm, even when it starts like the identity', () => {
  const t = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.throws(() => t.transpose([0]), (e: unknown) => isProtdistilError(e, 'shape') && e.message.includes('transpose') && e.message.includes('perm [0]'));
  assert.throws(() => t.transpose([0, 1, 2]), (e: unknown) => isProtdistilError(e, 'shape') && e.message.includes('transpose') && e.message.includes('axis 2'));
  // and through a transpose that would otherwise be collapsed
  assert.throws(() => t.mT.transpose([0]), (e: unknown) => isProtdistilError(e, 'shape') && e.message.includes('perm [0]'));
});
