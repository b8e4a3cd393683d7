import { MlmStream } from '../data/mlm-stream.js';
import type { SequenceSet } from '../data/sequence-set.js';
import { configError } from '../errors.js';
import { LiveTeacher } from '../distill/teacher.js';
import { mlmTrainStep } from '../distill/train-run.js';
import type { EsmModel } from '../models/esm/model.js';
import { linearSchedule } from '../optim/schedules.js';

/**
 * `compress --distill-steps N`: a short distillation of the compressed model from the original,
 * with `train`'s loss — (1 − λ)·CE + λ·T²·KL on masked positions of the calibration sequences —
 * and `train`'s data stream (random crops, 80/10/10 masks, seeded). Every parameter of the
 * compressed model trains, low-rank factors included; the original runs as a frozen live teacher.
 */

/** Options of {@link distillCompressed}. */
export interface CompressDistillOptions {
  readonly steps: number;
  readonly lr: number;
  readonly lambda: number;
  readonly temperature: number;
  readonly batchSize: number;
  readonly crop: number;
  readonly seed: number;
  readonly onStep?: (step: number, loss: number) => void;
}

/** What the distillation did: losses of the first and last steps (the total loss, in nats). */
export interface CompressDistillResult {
  readonly steps: number;
  readonly firstLoss: number;
  readonly lastLoss: number;
  readonly lambda: number;
  readonly temperature: number;
  readonly lr: number;
}

/** Distils `original` into `compressed` in place. */
export async function distillCompressed(compressed: EsmModel, original: EsmModel, data: SequenceSet, o: CompressDistillOptions): Promise<CompressDistillResult> {
  if (!(Number.isInteger(o.steps) && o.steps >= 1)) throw configError(`--distill-steps must be a positive integer, got ${o.steps}`);
  const maxCrop = compressed.config.arch === 'esm1b' ? compressed.config.maxPositions - 2 : Infinity;
  if (o.crop > maxCrop) throw configError(`--distill-crop ${o.crop} exceeds the model's ${maxCrop} residues`);
  const stream = new MlmStream(data, { seed: o.seed, crop: o.crop, batchSize: o.batchSize, maskProb: 0.15 });
  const teacher = await LiveTeacher.fromModel(original, 'the uncompressed model', 'original');
  compressed.unfreeze().train();
  const step = mlmTrainStep(compressed, {
    lambda: o.lambda,
    temperature: o.temperature,
    weightDecay: 0,
    schedule: linearSchedule({ peak: o.lr, warmup: Math.floor(o.steps / 10), total: o.steps }),
    clip: 1,
  });
  const perEpoch = stream.batchesPerEpoch();
  let first = NaN;
  let last = NaN;
  for (let k = 0; k < o.steps; k++) {
    const batch = stream.batch(Math.floor(k / perEpoch), k % perEpoch);
    const inputs = o.lambda > 0 ? [batch.tokens, batch.targets, await teacher.logits(batch)] : [batch.tokens, batch.targets];
    const r = await step.run(inputs);
    if (k === 0) first = r.loss;
    last = r.loss;
    o.onStep?.(k + 1, r.loss);
  }
  compressed.eval();
  return { steps: o.steps, firstLoss: first, lastLoss: last, lambda: o.lambda, temperature: o.temperature, lr: o.lr };
}
