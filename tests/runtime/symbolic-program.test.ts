import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SymbolicProgram } from '../../src/runtime/symbolic-program.js';
import { hostArray } from '../../src/tensor/host-array.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { assertRejects } from '../helpers/errors.js';
import { assertClose } from '../helpers/numeric.js';

/** y = tanh(x·W + b) on the host, in float64. */
function reference(x: Float32Array, rows: number, w: Float32Array, b: Float32Array, k: number, n: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      let s = b[j] as number;
      for (let p = 0; p < k; p++) s += (x[r * k + p] as number) * (w[p * n + j] as number);
      out.push(Math.tanh(s));
    }
  }
  return out;
}

test('one compiled program runs every batch size, reading the weights from their buffers at each run', async () => {
  const rng = new Rng(11);
  const [k, n] = [4, 3];
  const w = Tensor.from(rng.normalArray(k * n), [k, n]);
  const b = Tensor.from(rng.normalArray(n), [n]);
  const x = Tensor.placeholder([3, k], 'float32', 'x');
  const program = await SymbolicProgram.compile([x.matmul(w).add(b).tanh()], [{ tensor: x, name: 'x', dims: ['batch', null] }]);
  for (const rows of [5, 1, 2]) {
    const xs = rng.normalArray(rows * k);
    const [y] = await program.run([hostArray('float32', [rows, k], xs)]);
    assert.deepEqual(y!.shape, [rows, n]);
    assertClose(Array.from(y!.data as Float32Array), reference(xs, rows, w.node.realized as Float32Array, b.node.realized as Float32Array, k, n), { atol: 1e-5 });
  }
  // New weight values are picked up without recompiling.
  const w2 = rng.normalArray(k * n);
  w.assign(w2);
  const xs = rng.normalArray(2 * k);
  const [y] = await program.run([hostArray('float32', [2, k], xs)]);
  assertClose(Array.from(y!.data as Float32Array), reference(xs, 2, w2, b.node.realized as Float32Array, k, n), { atol: 1e-5 });
  await assertRejects(() => program.run([hostArray('int64', [2, k], new BigInt64Array(2 * k))]), 'shape', /input 'x' must be float32 with 2 dims/);
});

test('compiling over a placeholder the graph does not read, or with a wrong number of dim names, is an error', async () => {
  const x = Tensor.placeholder([3, 4], 'float32', 'x');
  const unused = Tensor.placeholder([3, 4], 'float32', 'u');
  await assertRejects(() => SymbolicProgram.compile([x.mul(2)], [{ tensor: unused, name: 'u', dims: ['batch', null] }]), 'runtime', /does not read input 'u'/);
  await assertRejects(() => SymbolicProgram.compile([x.mul(2)], [{ tensor: x, name: 'x', dims: ['batch'] }]), 'shape', /2 dims but 1 dim names/);
});
