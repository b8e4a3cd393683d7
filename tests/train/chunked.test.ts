import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isProtdistilError } from '../../src/errors.js';
import { mse } from '../../src/nn/functional/losses.js';
import { Linear } from '../../src/nn/linear.js';
import { adamw } from '../../src/optim/adam.js';
import { linearSchedule } from '../../src/optim/schedules.js';
import { hostArray } from '../../src/tensor/host-array.js';
import { Rng } from '../../src/tensor/random.js';
import { trainInChunks } from '../../src/train/chunked.js';
import { TrainStep, type StepResult } from '../../src/train/train-step.js';

function setup(): { lin: Linear; step: TrainStep } {
  const lin = new Linear(4, 2, { rng: new Rng(5) });
  const step = new TrainStep({ params: lin.namedParameters(), optimizer: adamw(), schedule: linearSchedule({ peak: 0.02, warmup: 2, total: 11 }), loss: ([x, y]) => mse(lin.forward(x!), y!) });
  return { lin, step };
}

test('chunked training draws batches in step order and matches a step-by-step loop (chunks of 4 over 11 steps)', async () => {
  const draw = (rng: Rng, rows: readonly Float32Array[]): void => {
    rows[0]!.set(rng.normalArray(rows[0]!.length));
    rows[1]!.set(rng.normalArray(rows[1]!.length));
  };
  const a = setup();
  const rngA = new Rng(9);
  const seen: number[] = [];
  const results = await trainInChunks(a.step, { steps: 11, inputs: [[3, 4], [3, 2]], fill: (rows) => draw(rngA, rows), onStep: (r) => seen.push(r.step), stepsPerRun: 4 });
  const b = setup();
  const rngB = new Rng(9);
  const stepped: StepResult[] = [];
  for (let s = 0; s < 11; s++) {
    const rows = [new Float32Array(12), new Float32Array(6)];
    draw(rngB, rows);
    stepped.push(await b.step.run([hostArray('float32', [3, 4], rows[0]!), hostArray('float32', [3, 2], rows[1]!)]));
  }
  assert.deepEqual(results, stepped);
  assert.deepEqual(seen, Array.from({ length: 11 }, (_, i) => i + 1));
  assert.deepEqual(Array.from(a.lin.weight.node.realized as Float32Array), Array.from(b.lin.weight.node.realized as Float32Array));
});

test('chunked training validates its step counts', async () => {
  const { step } = setup();
  await assert.rejects(trainInChunks(step, { steps: 3, inputs: [[3, 4], [3, 2]], fill: () => undefined, stepsPerRun: 0 }), (e) => isProtdistilError(e, 'config'));
  await assert.rejects(trainInChunks(step, { steps: -1, inputs: [[3, 4], [3, 2]], fill: () => undefined }), (e) => isProtdistilError(e, 'config'));
  assert.deepEqual(await trainInChunks(step, { steps: 0, inputs: [[3, 4], [3, 2]], fill: () => undefined }), []);
});
