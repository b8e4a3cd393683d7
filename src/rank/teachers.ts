import { engineMatmul } from '../linalg/engine.js';
import { randomOrthogonalF32 } from '../linalg/random-orthogonal.js';
import { mse } from '../nn/functional/losses.js';
import { Linear } from '../nn/linear.js';
import { adam } from '../optim/adam.js';
import { constantSchedule } from '../optim/schedules.js';
import type { Rng } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { trainInChunks } from '../train/chunked.js';
import { TrainStep, type StepResult } from '../train/train-step.js';
import { BatchSampler, gatherRows } from './batches.js';
import type { TeacherKind } from './config.js';
import { denseLayer, type DenseLayer } from './dense-layer.js';
import { fromLinear } from './low-rank-linear.js';
import type { Embeddings } from './embeddings.js';

/**
 * The three teacher strategies of the Distil-Rank benchmark, all square D x D layers over the
 * embeddings (as `Linear(1280, 1280)` over ESM-2 650M):
 * - `random`: PyTorch's default nn.Linear init, weight kaiming-uniform with a = √5 and bias
 *   U(±1/√fan_in) — both amount to U(±1/√D);
 * - `task-trained`: that init trained as a denoiser, x + noise·N(0, 1) → x on the training
 *   embeddings, with Adam (no weight decay), a constant learning rate and MSE loss;
 * - `spectral`: U·diag(σ)·Vᵀ with Haar-random orthogonal U, V and σ_i = 2·exp(−i/100)
 *   (i = 0, 1, …), zero bias: a known, smoothly decaying spectrum.
 */
export interface Teacher extends DenseLayer {
  readonly kind: TeacherKind;
  /** Training loss per step (task-trained only). */
  readonly history: readonly number[];
  /** Wall time to build the teacher, ms. */
  readonly buildMs: number;
  readonly description: string;
}

/** Options of the task-trained teacher. */
export interface TaskTeacherOptions {
  readonly steps: number;
  readonly lr: number;
  readonly batchSize: number;
  readonly noise: number;
  readonly onStep?: (r: StepResult) => void;
}

/** Spectral teacher: σ_i = SPECTRAL_SCALE·exp(−i/SPECTRAL_DECAY). */
export const SPECTRAL_SCALE = 2;
export const SPECTRAL_DECAY = 100;

/** Builds one teacher over D-dimensional inputs. `train` is only read by the task-trained teacher. */
export async function makeTeacher(kind: TeacherKind, train: Embeddings, rng: Rng, task: TaskTeacherOptions): Promise<Teacher> {
  const t0 = performance.now();
  const d = train.dim;
  if (kind === 'random') {
    const lin = new Linear(d, d, { rng });
    const layer = fromLinear(lin);
    return { ...layer, kind, history: [], buildMs: performance.now() - t0, description: 'PyTorch default Linear init: weight and bias ~ U(±1/√fan_in)' };
  }
  if (kind === 'spectral') {
    const layer = await spectralLayer(d, rng);
    return {
      ...layer,
      kind,
      history: [],
      buildMs: performance.now() - t0,
      description: `U·diag(σ)·Vᵀ, Haar-random orthogonal U, V, σ_i = ${SPECTRAL_SCALE}·exp(−i/${SPECTRAL_DECAY}), zero bias`,
    };
  }
  const { layer, history } = await trainDenoiser(train, rng, task);
  return {
    ...layer,
    kind,
    history,
    buildMs: performance.now() - t0,
    description: `denoiser x + ${task.noise}·N(0,1) → x trained with Adam (lr ${task.lr}, ${task.steps} steps, batch ${task.batchSize}) from the default init`,
  };
}

/** U·diag(σ)·Vᵀ with Haar U, V (accumulated and multiplied on the engine, float32). */
async function spectralLayer(d: number, rng: Rng): Promise<DenseLayer> {
  const u = await randomOrthogonalF32(d, rng);
  const v = await randomOrthogonalF32(d, rng);
  const us = new Float32Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) us[i * d + j] = (u.data[i * d + j] as number) * SPECTRAL_SCALE * Math.exp(-j / SPECTRAL_DECAY);
  }
  const w = await engineMatmul({ rows: d, cols: d, data: us }, v, { transB: true }); // (D, D) @ (D, D)ᵀ -> (D, D)
  return denseLayer(d, d, w.data, new Float32Array(d));
}

/** Trains the default-initialised Linear(D, D) to denoise the training embeddings. */
async function trainDenoiser(train: Embeddings, rng: Rng, o: TaskTeacherOptions): Promise<{ layer: DenseLayer; history: number[] }> {
  const d = train.dim;
  const lin = new Linear(d, d, { rng: rng.fork() });
  const step = new TrainStep({
    params: lin.namedParameters(),
    optimizer: adam(),
    schedule: constantSchedule({ peak: o.lr }),
    loss: ([noisy, clean]) => mse(lin.forward(noisy as Tensor), clean as Tensor),
  });
  const sampler = new BatchSampler(train.rows, o.batchSize, rng.fork());
  const noise = rng.fork();
  const z = new Float64Array(o.batchSize * d);
  const results = await trainInChunks(step, {
    steps: o.steps,
    inputs: [
      [o.batchSize, d],
      [o.batchSize, d],
    ],
    fill: ([noisy, clean]) => {
      const c = gatherRows(train.data, d, sampler.next(), clean as Float32Array);
      const n = noisy as Float32Array;
      noise.fillNormal(z);
      for (let i = 0; i < c.length; i++) n[i] = (c[i] as number) + o.noise * (z[i] as number);
    },
    ...(o.onStep === undefined ? {} : { onStep: o.onStep }),
  });
  const history = results.map((r) => r.loss);
  return { layer: fromLinear(lin), history };
}
