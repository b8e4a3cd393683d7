import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isProtdistilError } from '../../src/errors.js';
import { mse } from '../../src/nn/functional/losses.js';
import { Linear } from '../../src/nn/linear.js';
import { Parameter } from '../../src/nn/module.js';
import { adamw } from '../../src/optim/adam.js';
import { constantSchedule, cosineSchedule, linearSchedule } from '../../src/optim/schedules.js';
import { hostArray, type HostArray } from '../../src/tensor/host-array.js';
import { Rng } from '../../src/tensor/random.js';
import { TrainStep } from '../../src/train/train-step.js';

const batchOf = (rng: Rng, n: number): HostArray[] => [hostArray('float32', [n, 4], rng.normalArray(n * 4)), hostArray('float32', [n, 2], rng.normalArray(n * 2))];

function setup(seed: number): { lin: Linear; step: TrainStep } {
  const lin = new Linear(4, 2, { rng: new Rng(seed) });
  const step = new TrainStep({
    params: lin.namedParameters(),
    optimizer: adamw({ weightDecay: 0.1 }),
    schedule: cosineSchedule({ peak: 0.05, warmup: 2, total: 20 }),
    clipNorm: 1,
    loss: ([x, y]) => mse(lin.forward(x!), y!),
  });
  return { lin, step };
}

test('a step is one ONNX program whose outputs are the loss, the gradient norm and every updated tensor', async () => {
  const { step } = setup(1);
  await step.run(batchOf(new Rng(2), 8));
  // 2 report outputs + (weight, bias) × (param, grad_sum, grad_sq_sum)
  assert.equal(step.programs.length, 1);
  const p = step.programs[0]!;
  assert.equal(p.outputs.length, 2 + 2 * 3);
  // inputs: x, y, weight, bias, their 4 moment buffers, and the 3 AdamW scalars
  assert.equal(p.inputs.length, 2 + 2 + 4 + 3);
  // forward, backward and update are all inside: the graph has the loss's matmul and its gradient
  assert.ok(p.graph.ops.filter((n) => n.op === 'matmul').length >= 2);
});

test('exact resume: 3 steps + saved state + 3 steps equals 6 uninterrupted steps', async () => {
  const data = Array.from({ length: 6 }, (_, i) => batchOf(new Rng(100 + i), 8));
  const a = setup(7);
  for (const b of data) await a.step.run(b);
  const first = setup(7);
  for (const b of data.slice(0, 3)) await first.step.run(b);
  const params = first.lin.stateDict();
  const opt = first.step.optimizerState();
  const copy = (m: Map<string, HostArray>): Map<string, HostArray> => new Map([...m].map(([k, v]) => [k, { ...v, data: (v.data as Float32Array).slice() }]));
  const resumed = setup(99); // different init: everything must come from the saved state
  resumed.lin.loadStateDict(copy(params));
  resumed.step.loadOptimizerState(copy(opt), first.step.step);
  for (const b of data.slice(3)) await resumed.step.run(b);
  assert.equal(resumed.step.step, 6);
  assert.deepEqual(Array.from(resumed.lin.weight.node.realized as Float32Array), Array.from(a.lin.weight.node.realized as Float32Array));
  assert.deepEqual(Array.from(resumed.lin.bias!.node.realized as Float32Array), Array.from(a.lin.bias!.node.realized as Float32Array));
});

test('a non-finite loss is reported and leaves parameters and optimizer state untouched', async () => {
  const { lin, step } = setup(3);
  await step.run(batchOf(new Rng(1), 4));
  const w = Array.from(lin.weight.node.realized as Float32Array);
  const m = Array.from(step.optimizerState().get('weight.grad_sum')!.data as Float32Array);
  const bad = batchOf(new Rng(2), 4);
  (bad[0]!.data as Float32Array)[3] = Number.NaN;
  await assert.rejects(step.run(bad), (e) => isProtdistilError(e, 'runtime') && /non-finite loss/.test(e.message) && /step 2/.test(e.message));
  assert.deepEqual(Array.from(lin.weight.node.realized as Float32Array), w);
  assert.deepEqual(Array.from(step.optimizerState().get('weight.grad_sum')!.data as Float32Array), m);
  assert.equal(step.step, 1);
  const skipping = new TrainStep({ params: lin.namedParameters(), optimizer: adamw(), schedule: constantSchedule({ peak: 0.1 }), onNonFinite: 'skip', loss: ([x, y]) => mse(lin.forward(x!), y!) });
  const r = await skipping.run(bad);
  assert.equal(r.finite, false);
  assert.deepEqual(Array.from(lin.weight.node.realized as Float32Array), w);
});

test('frozen parameters are not updated; each batch shape compiles once and is reused', async () => {
  const { lin } = setup(4);
  lin.bias!.node.requiresGrad = false;
  const bias = Array.from(lin.bias!.node.realized as Float32Array);
  const w0 = Array.from(lin.weight.node.realized as Float32Array);
  const step = new TrainStep({ params: lin.namedParameters(), optimizer: adamw(), schedule: constantSchedule({ peak: 0.1 }), loss: ([x, y]) => mse(lin.forward(x!), y!) });
  const rng = new Rng(5);
  for (const n of [8, 16, 8, 16, 8]) await step.run(batchOf(rng, n));
  assert.equal(step.programs.length, 2);
  assert.deepEqual(Array.from(lin.bias!.node.realized as Float32Array), bias);
  assert.notDeepEqual(Array.from(lin.weight.node.realized as Float32Array), w0);
  assert.equal(step.step, 5);
});

test('a loss that reaches no trainable parameter and a non-scalar loss are clear errors', async () => {
  const p = Parameter.of(hostArray('float32', [2], new Float32Array([1, 2])));
  const s1 = new TrainStep({ params: [['p', p]], optimizer: adamw(), schedule: constantSchedule({ peak: 0.1 }), loss: ([x]) => x!.sum() });
  await assert.rejects(s1.run([hostArray('float32', [2], new Float32Array(2))]), (e) => isProtdistilError(e, 'config'));
  const s2 = new TrainStep({ params: [['p', p]], optimizer: adamw(), schedule: constantSchedule({ peak: 0.1 }), loss: ([x]) => x!.mul(p) });
  await assert.rejects(s2.run([hostArray('float32', [2], new Float32Array(2))]), (e) => isProtdistilError(e, 'shape') && e.message.includes('[2]'));
});

test('a step at learning rate 0 (the first warmup step) leaves the parameters exactly as they were', async () => {
  const lin = new Linear(4, 2, { rng: new Rng(7) });
  const step = new TrainStep({
    params: lin.namedParameters(),
    optimizer: adamw({ weightDecay: 0.1 }),
    schedule: linearSchedule({ peak: 0.05, warmup: 3, total: 10 }),
    loss: ([x, y]) => mse(lin.forward(x!), y!),
  });
  const before = lin.namedParameters().map(([, p]) => Float32Array.from(p.node.realized as Float32Array));
  // Input feature 0 is zero in every row, so its weight column gets a zero gradient and a zero
  // second moment: the update must still be exactly 0 there (no 0·∞ in the denominator).
  const first = batchOf(new Rng(8), 8);
  for (let r = 0; r < 8; r++) (first[0]!.data as Float32Array)[r * 4] = 0;
  const r = await step.run(first);
  assert.equal(r.lr, 0);
  lin.namedParameters().forEach(([name, p], i) => assert.deepEqual(Array.from(p.node.realized as Float32Array), Array.from(before[i]!), name));
  const r2 = await step.run(batchOf(new Rng(9), 8));
  assert.ok(r2.lr > 0);
  assert.ok(lin.namedParameters().some(([, p], i) => (p.node.realized as Float32Array).some((v, j) => v !== before[i]![j])), 'the second step moves the parameters');
});
