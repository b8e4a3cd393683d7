import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isProtdistilError } from '../../src/errors.js';
import { mse } from '../../src/nn/functional/losses.js';
import { Linear } from '../../src/nn/linear.js';
import { adamw } from '../../src/optim/adam.js';
import { cosineSchedule } from '../../src/optim/schedules.js';
import { hostArray, type HostArray } from '../../src/tensor/host-array.js';
import { Rng } from '../../src/tensor/random.js';
import { TrainStep, type StepResult } from '../../src/train/train-step.js';

// runSteps must be indistinguishable from calling run once per step: same parameters, optimizer
// state and reports, bit for bit (the loop body is the step graph; the kernels are the same).

function setup(opts: { frozenBias?: boolean; onNonFinite?: 'throw' | 'skip' } = {}): { lin: Linear; step: TrainStep } {
  const lin = new Linear(6, 3, { rng: new Rng(11) });
  if (opts.frozenBias === true) lin.bias!.node.requiresGrad = false;
  const step = new TrainStep({
    params: lin.namedParameters(),
    optimizer: adamw({ weightDecay: 0.05 }),
    // warmup then cosine decay: every step has its own learning-rate scalars
    schedule: cosineSchedule({ peak: 0.05, warmup: 3, total: 12 }),
    clipNorm: 0.5,
    onNonFinite: opts.onNonFinite ?? 'throw',
    loss: ([x, y]) => {
      const l = mse(lin.forward(x!), y!);
      return { loss: l, metrics: { half: l.mul(0.5) } };
    },
  });
  return { lin, step };
}

const rows = 5;
function stackedBatches(seed: number, k: number): { stacked: HostArray[]; single: HostArray[][] } {
  const rng = new Rng(seed);
  const x = rng.normalArray(k * rows * 6);
  const y = rng.normalArray(k * rows * 3);
  const single = Array.from({ length: k }, (_, j) => [
    hostArray('float32', [rows, 6], x.slice(j * rows * 6, (j + 1) * rows * 6)),
    hostArray('float32', [rows, 3], y.slice(j * rows * 3, (j + 1) * rows * 3)),
  ]);
  return { stacked: [hostArray('float32', [k, rows, 6], x), hostArray('float32', [k, rows, 3], y)], single };
}

const snapshot = (lin: Linear, step: TrainStep): Record<string, number[]> => ({
  ...Object.fromEntries([...lin.stateDict()].map(([k, v]) => [k, Array.from(v.data as Float32Array)])),
  ...Object.fromEntries([...step.optimizerState()].map(([k, v]) => [`opt.${k}`, Array.from(v.data as Float32Array)])),
});

test('runSteps(k) equals k single steps bit for bit: parameters, optimizer state, losses, metrics, learning rates', async () => {
  const { stacked, single } = stackedBatches(1, 7);
  const a = setup();
  const looped = [...(await a.step.runSteps(stacked.map((s) => ({ ...s, shape: [4, ...s.shape.slice(1)], data: (s.data as Float32Array).subarray(0, 4 * (s.data.length / 7)) })))), ...(await a.step.runSteps(stacked.map((s) => ({ ...s, shape: [3, ...s.shape.slice(1)], data: (s.data as Float32Array).subarray(4 * (s.data.length / 7)) }))))];
  const b = setup();
  const stepped: StepResult[] = [];
  for (const batch of single) stepped.push(await b.step.run(batch));
  assert.equal(a.step.step, 7);
  assert.equal(b.step.step, 7);
  assert.deepEqual(looped, stepped);
  assert.deepEqual(snapshot(a.lin, a.step), snapshot(b.lin, b.step));
  // the training did something: the learning rate moved through warmup and decay, parameters changed
  assert.ok(new Set(looped.map((r) => r.lr)).size >= 6);
  assert.notDeepEqual(snapshot(a.lin, a.step).weight, snapshot(setup().lin, setup().step).weight);
});

test('runSteps leaves frozen parameters alone and reads them every iteration', async () => {
  const { stacked, single } = stackedBatches(2, 5);
  const a = setup({ frozenBias: true });
  const bias = Array.from(a.lin.bias!.node.realized as Float32Array);
  await a.step.runSteps(stacked);
  const b = setup({ frozenBias: true });
  for (const batch of single) await b.step.run(batch);
  assert.deepEqual(Array.from(a.lin.bias!.node.realized as Float32Array), bias);
  assert.deepEqual(snapshot(a.lin, a.step), snapshot(b.lin, b.step));
});

test('a non-finite loss inside a chunk fails at the same step, with the same state, as single steps', async () => {
  const { stacked, single } = stackedBatches(3, 6);
  (stacked[0]!.data as Float32Array)[3 * rows * 6 + 2] = Number.NaN; // step 4 of the chunk
  (single[3]![0]!.data as Float32Array)[2] = Number.NaN;
  const a = setup();
  await assert.rejects(a.step.runSteps(stacked), (e) => isProtdistilError(e, 'runtime') && /non-finite loss/.test(e.message) && /step 4\b/.test(e.message));
  const b = setup();
  for (const batch of single.slice(0, 3)) await b.step.run(batch);
  assert.equal(a.step.step, 3);
  assert.deepEqual(snapshot(a.lin, a.step), snapshot(b.lin, b.step));
});

test('with onNonFinite "skip" the bad step is skipped inside a chunk exactly as with single steps', async () => {
  const { stacked, single } = stackedBatches(4, 6);
  (stacked[1]!.data as Float32Array)[1 * rows * 3] = Number.POSITIVE_INFINITY; // step 2
  (single[1]![1]!.data as Float32Array)[0] = Number.POSITIVE_INFINITY;
  const a = setup({ onNonFinite: 'skip' });
  const looped = await a.step.runSteps(stacked);
  const b = setup({ onNonFinite: 'skip' });
  const stepped: StepResult[] = [];
  for (const batch of single) stepped.push(await b.step.run(batch));
  assert.equal(looped[1]!.finite, false);
  assert.deepEqual(looped, stepped);
  assert.equal(a.step.step, 5);
  assert.deepEqual(snapshot(a.lin, a.step), snapshot(b.lin, b.step));
});

test('runSteps rejects stacked inputs without a common leading step axis', async () => {
  const { step } = setup();
  const x = hostArray('float32', [3, rows, 6], new Float32Array(3 * rows * 6));
  const y = hostArray('float32', [2, rows, 3], new Float32Array(2 * rows * 3));
  await assert.rejects(step.runSteps([x, y]), (e) => isProtdistilError(e, 'shape') && /3 steps/.test(e.message));
  await assert.rejects(step.runSteps([]), (e) => isProtdistilError(e, 'config'));
  assert.equal(step.step, 0);
});
