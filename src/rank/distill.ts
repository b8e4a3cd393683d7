import { cosineSimilarity } from '../nn/functional/similarity.js';
import { mse } from '../nn/functional/losses.js';
import { adamw } from '../optim/adam.js';
import { scheduleByName } from '../optim/schedules.js';
import type { Rng } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { trainInChunks } from '../train/chunked.js';
import { TrainStep, type StepResult } from '../train/train-step.js';
import { BatchSampler, gatherRows } from './batches.js';
import type { Embeddings } from './embeddings.js';
import { LowRankLinear, type LowRankFactors } from './low-rank-linear.js';

/**
 * Knowledge distillation of a dense teacher into a low-rank student (Hinton et al.,
 * https://arxiv.org/abs/1503.02531, here on regression targets): the student starts from given
 * factors (the truncated SVD of the teacher by default) and is trained with AdamW (Loshchilov &
 * Hutter, https://arxiv.org/abs/1711.05101) on mini-batches of the training embeddings against the
 * teacher's outputs, with loss  MSE(student, teacher) + λ·(1 − mean cosine(student, teacher)).
 * Each step — forward, loss, backward, AdamW — is one ONNX Runtime run (TrainStep).
 */
export interface DistillOptions {
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly weightDecay: number;
  /** λ, the weight of the (1 − cosine) term. */
  readonly cosineWeight: number;
  readonly schedule: 'constant' | 'cosine';
  readonly rng: Rng;
  readonly onStep?: (r: StepResult) => void;
}

/** Per-step training curves. */
export interface DistillHistory {
  readonly loss: number[];
  readonly mse: number[];
  readonly cosine: number[];
}

/** The trained student and how training went. */
export interface DistillResult {
  readonly factors: LowRankFactors;
  readonly history: DistillHistory;
  /** Wall time of the training loop (graph compilation included), ms. */
  readonly trainMs: number;
  /** Part of trainMs spent compiling the step graph, ms. */
  readonly compileMs: number;
}

/** The distillation loss on one batch: MSE + λ·(1 − mean cosine), with both parts as metrics. */
export function distillLoss(pred: Tensor, target: Tensor, cosineWeight: number): { loss: Tensor; metrics: { mse: Tensor; cosine: Tensor } } {
  const m = mse(pred, target);
  const cos = cosineSimilarity(pred, target).mean();
  return { loss: m.add(cos.rsub(1).mul(cosineWeight)), metrics: { mse: m, cosine: cos } };
}

/** Trains a student from `init` on inputs `x` (rows, in) and teacher outputs `y` (rows, out). */
export async function distill(init: LowRankFactors, x: Embeddings, y: Float32Array, o: DistillOptions): Promise<DistillResult> {
  const t0 = performance.now();
  const student = LowRankLinear.fromFactors(init);
  const step = new TrainStep({
    params: student.namedParameters(),
    optimizer: adamw({ weightDecay: o.weightDecay }),
    schedule: scheduleByName(o.schedule, { peak: o.lr, total: o.steps }),
    loss: ([xb, yb]) => distillLoss(student.forward(xb as Tensor), yb as Tensor, o.cosineWeight),
  });
  const sampler = new BatchSampler(x.rows, o.batchSize, o.rng);
  const history: DistillHistory = { loss: [], mse: [], cosine: [] };
  await trainInChunks(step, {
    steps: o.steps,
    inputs: [
      [o.batchSize, x.dim],
      [o.batchSize, init.outFeatures],
    ],
    fill: ([xb, yb]) => {
      const index = sampler.next();
      gatherRows(x.data, x.dim, index, xb as Float32Array);
      gatherRows(y, init.outFeatures, index, yb as Float32Array);
    },
    onStep: (r) => {
      history.loss.push(r.loss);
      history.mse.push(r.metrics.mse ?? NaN);
      history.cosine.push(r.metrics.cosine ?? NaN);
      o.onStep?.(r);
    },
  });
  return { factors: student.factors(), history, trainMs: performance.now() - t0, compileMs: step.compileMs };
}
