import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Parameter } from '../../src/nn/module.js';
import { adam, adamw } from '../../src/optim/adam.js';
import type { Optimizer } from '../../src/optim/optimizer.js';
import { constantSchedule, cosineSchedule, linearSchedule, type Schedule } from '../../src/optim/schedules.js';
import { sgd } from '../../src/optim/sgd.js';
import { TrainStep } from '../../src/train/train-step.js';
import { hostArray } from '../../src/tensor/host-array.js';
import { field, loadGolden } from '../helpers/golden.js';
import { assertClose } from '../helpers/numeric.js';

// Optimizer trajectories from PyTorch (float64, scripts/golden/make_golden.py): 8 steps of
// loss = mean((x·W + b − y)²), each step one compiled ONNX run of forward+backward+update.
// float32 vs float64 over 8 steps: parameters within 2e-5 absolute + 1e-5 relative.
const o = loadGolden('adamw');

async function trajectory(entry: string, optimizer: Optimizer, schedule: Schedule, clipNorm?: number): Promise<void> {
  const e = o[entry] as Record<string, unknown>;
  const W0 = field(o, 'W0');
  const b0 = field(o, 'b0');
  const W = Parameter.of(hostArray('float32', W0.shape, W0.data.slice()));
  const b = Parameter.of(hostArray('float32', b0.shape, b0.data.slice()));
  const x = field(o, 'x');
  const y = field(o, 'y');
  const step = new TrainStep({
    params: [['W', W], ['b', b]],
    optimizer,
    schedule,
    ...(clipNorm === undefined ? {} : { clipNorm }),
    loss: ([xs, ys]) => xs!.matmul(W).add(b).sub(ys!).square().mean(),
  });
  const lrs = e.lr as number[];
  const losses = e.loss as number[];
  const Ws = field(e, 'W');
  const bs = field(e, 'b');
  const nW = W.size;
  const nb = b.size;
  for (let k = 0; k < lrs.length; k++) {
    const r = await step.run([hostArray('float32', x.shape, x.data), hostArray('float32', y.shape, y.data)]);
    assert.ok(Math.abs(r.lr - (lrs[k] as number)) < 1e-12, `${entry} step ${k}: lr ${r.lr} vs ${lrs[k]}`);
    assertClose([r.loss], [losses[k] as number], { atol: 1e-5, rtol: 1e-5 }, `${entry} loss step ${k}`);
    if (entry === 'adamw_clip') assertClose([r.gradNorm], [(e.grad_norm as number[])[k] as number], { atol: 1e-5, rtol: 1e-5 }, `grad norm step ${k}`);
    assertClose(W.node.realized as Float32Array, Ws.f64.subarray(k * nW, (k + 1) * nW), { atol: 2e-5, rtol: 1e-5 }, `${entry} W after step ${k}`);
    assertClose(b.node.realized as Float32Array, bs.f64.subarray(k * nb, (k + 1) * nb), { atol: 2e-5, rtol: 1e-5 }, `${entry} b after step ${k}`);
  }
  assert.equal(step.step, lrs.length);
}

const warmup = o.warmup as number;
const total = o.total as number;

test('AdamW with cosine warmup schedule follows the PyTorch trajectory', async () => {
  await trajectory('adamw', adamw({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1 }), cosineSchedule({ peak: 0.1, warmup, total }));
});

test('AdamW with global-norm clipping follows the PyTorch trajectory', async () => {
  await trajectory('adamw_clip', adamw({ weightDecay: 0.1 }), cosineSchedule({ peak: 0.1, warmup, total }), 0.5);
});

test('Adam with L2 weight decay follows the PyTorch trajectory', async () => {
  await trajectory('adam', adam({ weightDecay: 0.01 }), constantSchedule({ peak: 0.05 }));
});

test('SGD with momentum and a linear schedule follows the PyTorch trajectory', async () => {
  await trajectory('sgd', sgd({ momentum: 0.9, weightDecay: 0.01 }), linearSchedule({ peak: 0.1, warmup, total }));
});
