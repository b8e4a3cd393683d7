import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backward, grad } from '../../src/autograd/grad.js';
import { noGrad } from '../../src/autograd/mode.js';
import { isProtdistilError } from '../../src/errors.js';
import { Linear } from '../../src/nn/linear.js';
import { collectGraph } from '../../src/runtime/graph.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/numeric.js';

test('gradients of a shared sub-expression accumulate (d/dx of x·x + x·x = 4x)', async () => {
  const x = Tensor.from([1, -2, 3], [3], 'float32', true);
  const s = x.mul(x);
  const [g] = grad(s.add(s).sum(), [x]);
  assert.deepEqual(Array.from((await g!.toArray()) as Float32Array), [4, -8, 12]);
});

test('backward() accumulates into .grad across calls, like PyTorch', async () => {
  const w = Tensor.from([2, 3], [2], 'float32', true);
  w.mul(w).sum().backward(); // 2w
  w.mul(5).sum().backward(); // + 5
  assert.deepEqual(Array.from((await w.grad!.toArray()) as Float32Array), [9, 11]);
});

test('noGrad scopes, detach and frozen parameters build no gradient nodes', () => {
  const x = Tensor.from([1, 2], [2], 'float32', true);
  const y = noGrad(() => x.mul(3).exp());
  assert.equal(y.requiresGrad, false);
  assert.equal(x.mul(3).detach().requiresGrad, false);
  const lin = new Linear(3, 2, { rng: new Rng(1) });
  lin.freeze();
  const out = lin.forward(Tensor.from([1, 2, 3], [1, 3], 'float32', true)).sum();
  assert.equal(out.requiresGrad, true); // the input still requires gradients
  const [gw] = grad(out, [lin.weight]);
  // The frozen weight has no path: its gradient is a zero constant, not a computed graph.
  assert.equal(gw!.node.op, 'const');
  lin.unfreeze();
  const out2 = lin.forward(Tensor.from([1, 2, 3], [1, 3])).sum();
  const [gw2] = grad(out2, [lin.weight]);
  assert.notEqual(gw2!.node.op, 'const');
});

test('gradient graphs only contain nodes reachable from the output', () => {
  const a = Tensor.from([1, 2, 3, 4], [2, 2], 'float32', true);
  const b = Tensor.from([1, 0, 0, 1], [2, 2]); // constant data: no gradient
  const [ga] = grad(a.matmul(b).tanh().sum(), [a]);
  const g = collectGraph([ga!.node]);
  // no node of the graph computes a gradient for b (no matmul of the form aᵀ·g)
  const matmuls = g.ops.filter((n) => n.op === 'matmul');
  assert.equal(matmuls.length, 2, `forward matmul + one gradient matmul, got ${matmuls.length}`);
});

test('grad of a non-scalar output needs gradOutput; the error names the shape', () => {
  const x = Tensor.from([1, 2], [2], 'float32', true);
  assert.throws(() => grad(x.mul(2), [x]), (e) => isProtdistilError(e, 'shape') && /\[2\]/.test(e.message));
});

test('vector-Jacobian product with an explicit gradOutput', async () => {
  const x = Tensor.from([1, 2], [2], 'float32', true);
  const [g] = grad(x.exp(), [x], Tensor.from([1, 10], [2]));
  assertClose((await g!.toArray()) as Float32Array, [Math.E, 10 * Math.exp(2)], { atol: 1e-5, rtol: 1e-6 });
});

test('backward works through intermediate tensors that were already realized', async () => {
  const x = Tensor.from([0.5, 1.5], [2], 'float32', true);
  const y = x.mul(x);
  await y.toArray(); // y becomes data for lowering but keeps its history
  const [g] = grad(y.mul(3).sum(), [x]);
  assertClose((await g!.toArray()) as Float32Array, [3, 9], { atol: 1e-6 });
});

test('the gradient of a transposed square weight is one product gᵀ·x, with no (out, in) transpose', async () => {
  const rng = new Rng(5);
  const [n, d] = [3, 6];
  const xs = rng.normalArray(n * d);
  const ws = rng.normalArray(d * d);
  const x = Tensor.from(xs, [n, d]);
  const w = Tensor.from(ws, [d, d], 'float32', true);
  const y = x.matmul(w.mT); // (n, d) @ (d, d)ᵀ -> (n, d)
  const up = rng.normalArray(n * d);
  const [g] = grad(y.mul(Tensor.from(up, [n, d])).sum(), [w]);
  // dL/dW[o][i] = Σ_r up[r][o]·x[r][i], by hand in float64.
  const want = new Float64Array(d * d);
  for (let o = 0; o < d; o++) for (let i = 0; i < d; i++) for (let r = 0; r < n; r++) want[o * d + i] = (want[o * d + i] as number) + (up[r * d + o] as number) * (xs[r * d + i] as number);
  assertClose(Array.from((await g!.toArray()) as Float32Array), Array.from(want), { atol: 1e-5, rtol: 1e-5 });
  const transposes = collectGraph([g!.node]).ops.filter((m) => m.op === 'transpose' && m.shape.every((s) => s === d) && m.shape.length === 2);
  assert.equal(transposes.length, 0);
});

test('a transpose of a transpose collapses, except across a noGrad boundary', () => {
  const w = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3], 'float32', true);
  assert.equal(w.mT.mT.node, w.node);
  const t3 = Tensor.from(new Float32Array(24), [2, 3, 4]);
  const twice = t3.transpose([1, 2, 0]).transpose([2, 0, 1]); // the inverse permutation
  assert.equal(twice.node, t3.node);
  const once = t3.transpose([1, 0, 2]).transpose([0, 2, 1]);
  assert.equal(once.node.op, 'transpose');
  assert.deepEqual(once.node.inputs[0], t3.node);
  assert.deepEqual(once.shape, [3, 4, 2]);
  const detached = noGrad(() => w.mT);
  const back = detached.mT;
  assert.notEqual(back.node, w.node);
  assert.equal(back.requiresGrad, false);
});
