import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/tensor/random.js';
import { isProtdistilError } from '../../src/errors.js';
import { readFixtureJson } from '../data/fixtures.js';

type Golden = Record<string, { state: number[]; uint32: number[]; int7: number[]; normal: number[] }>;
const golden = readFixtureJson<Golden>('rng-golden.json');

test('matches the independent Python implementation (seeding, uint32, int, normal)', () => {
  assert.equal(Object.keys(golden).length, 4);
  for (const [seed, g] of Object.entries(golden)) {
    const r = new Rng(Number(seed));
    assert.deepEqual([...r.state()], g.state, `state, seed ${seed}`);
    assert.deepEqual(Array.from({ length: 8 }, () => r.nextUint32()), g.uint32, `uint32, seed ${seed}`);
    assert.deepEqual(Array.from({ length: 8 }, () => r.int(7)), g.int7, `int, seed ${seed}`);
    for (const want of g.normal) {
      const got = r.normal();
      // libm sin/cos/log may differ in the last bit between runtimes
      assert.ok(Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)), `normal ${got} vs ${want}`);
    }
  }
});

test('same seed, same stream; different seeds, different streams', () => {
  const a = new Rng(123);
  const b = new Rng(123);
  const c = new Rng(124);
  const xs = Array.from({ length: 100 }, () => a.nextUint32());
  assert.deepEqual(Array.from({ length: 100 }, () => b.nextUint32()), xs);
  assert.notDeepEqual(Array.from({ length: 100 }, () => c.nextUint32()), xs);
});

test('state round-trips through fromState', () => {
  const a = new Rng(9);
  for (let i = 0; i < 10; i++) a.nextUint32();
  const b = Rng.fromState(a.state());
  assert.deepEqual(Array.from({ length: 20 }, () => b.float()), Array.from({ length: 20 }, () => a.float()));
  assert.throws(() => Rng.fromState([0, 0, 0, 0]), (e) => isProtdistilError(e, 'config'));
  assert.throws(() => Rng.fromState([1, 2, 3, 2 ** 32]), (e) => isProtdistilError(e, 'config'));
});

test('uniform floats lie in [0, 1) with mean 1/2 and variance 1/12', () => {
  const r = new Rng(5);
  const n = 200_000;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const u = r.float();
    assert.ok(u >= 0 && u < 1);
    sum += u;
    sq += u * u;
  }
  const mean = sum / n;
  // standard error of the mean is sqrt(1/12/n) ~ 6.5e-4; 5 sigma
  assert.ok(Math.abs(mean - 0.5) < 3.3e-3, `mean ${mean}`);
  assert.ok(Math.abs(sq / n - mean * mean - 1 / 12) < 2e-3, `variance ${sq / n - mean * mean}`);
});

test('int(n) is uniform over [0, n) and rejects bad n', () => {
  const r = new Rng(8);
  const counts = new Array<number>(6).fill(0);
  const n = 60_000;
  for (let i = 0; i < n; i++) counts[r.int(6)]!++;
  // expected 10000 each, sd ~ 91; 6 sigma
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 550, `counts ${counts.join(',')}`);
  for (const bad of [0, -1, 1.5, 2 ** 32 + 1]) assert.throws(() => r.int(bad), (e) => isProtdistilError(e, 'config'));
  assert.equal(r.int(1), 0);
});

test('normals have mean 0 and variance 1', () => {
  const r = new Rng(77);
  const n = 200_000;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    sum += z;
    sq += z * z;
  }
  // standard errors: mean ~ 2.2e-3, variance ~ 3.2e-3; 5 sigma
  assert.ok(Math.abs(sum / n) < 0.011, `mean ${sum / n}`);
  assert.ok(Math.abs(sq / n - 1) < 0.016, `variance ${sq / n}`);
});

test('shuffle permutes deterministically', () => {
  const xs = Array.from({ length: 50 }, (_, i) => i);
  const a = new Rng(1).shuffle([...xs]);
  assert.deepEqual(new Rng(1).shuffle([...xs]), a);
  assert.notDeepEqual(a, xs);
  assert.deepEqual([...a].sort((p, q) => p - q), xs);
});

test('seeds must be integers', () => {
  assert.throws(() => new Rng(1.5), (e) => isProtdistilError(e, 'config'));
  assert.deepEqual(new Rng(-1).state(), new Rng(2 ** 32 - 1).state());
});

test('fillNormal gives exactly the values of successive normal() calls, the cached spare included', () => {
  const a = new Rng(77);
  const b = new Rng(77);
  a.normal(); // leaves a spare
  b.normal();
  for (const len of [5, 0, 4, 1, 7]) {
    const got = Array.from(a.fillNormal(new Float64Array(len)));
    const want = Array.from({ length: len }, () => b.normal());
    assert.deepEqual(got, want, `length ${len}`);
  }
  assert.equal(a.normal(), b.normal());
  assert.deepEqual(a.state(), b.state());
});
