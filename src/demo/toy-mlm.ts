import { parseEsmConfig, type EsmConfig } from '../models/esm/config.js';
import { Esm2 } from '../models/esm/esm2.js';
import { crossEntropy, IGNORE_INDEX } from '../nn/functional/losses.js';
import { adamw } from '../optim/adam.js';
import { cosineSchedule } from '../optim/schedules.js';
import { hostArray, type HostArray } from '../tensor/host-array.js';
import { Rng } from '../tensor/random.js';
import { TrainStep, type StepResult } from '../train/train-step.js';

/**
 * A toy masked-token task that a small transformer can learn in seconds: every sequence repeats a
 * random 4-residue motif, 15% of positions are masked, and the model must recover them from the
 * other copies of the motif. Used by the engine demo and the end-to-end test.
 */

export interface ToyMlmOptions {
  readonly steps: number;
  readonly batch: number;
  readonly length: number;
  readonly lr: number;
  readonly seed: number;
  readonly config?: EsmConfig;
  readonly onStep?: (r: StepResult) => void;
}

/** A tiny ESM-2-style model: 2 layers, 32 dims, 2 heads. */
export const TOY_CONFIG = parseEsmConfig({ arch: 'esm2', numLayers: 2, embedDim: 32, attentionHeads: 2, ffnDim: 128, tokenDropout: false });

/** One batch: tokens with BOS/EOS and masks, and targets (ignore index where not masked). */
export function toyBatch(rng: Rng, batch: number, length: number): { tokens: HostArray<'int64'>; targets: HostArray<'int64'> } {
  const T = length + 2;
  const tokens = new BigInt64Array(batch * T);
  const targets = new BigInt64Array(batch * T).fill(BigInt(IGNORE_INDEX));
  for (let b = 0; b < batch; b++) {
    const motif = Array.from({ length: 4 }, () => 4 + rng.int(20)); // standard residues are ids 4..23
    tokens[b * T] = 0n;
    tokens[b * T + T - 1] = 2n;
    for (let t = 0; t < length; t++) {
      const id = motif[t % 4] as number;
      const pos = b * T + 1 + t;
      if (rng.uniform() < 0.15) {
        tokens[pos] = 32n;
        targets[pos] = BigInt(id);
      } else tokens[pos] = BigInt(id);
    }
  }
  return { tokens: hostArray('int64', [batch, T], tokens), targets: hostArray('int64', [batch, T], targets) };
}

/** Trains a fresh toy model; returns per-step results and the model. */
export async function trainToyMlm(o: ToyMlmOptions): Promise<{ history: StepResult[]; model: Esm2 }> {
  const rng = new Rng(o.seed);
  const model = new Esm2(o.config ?? TOY_CONFIG, rng.fork());
  const step = new TrainStep({
    params: model.namedParameters(),
    optimizer: adamw({ weightDecay: 0.01 }),
    schedule: cosineSchedule({ peak: o.lr, warmup: Math.min(10, Math.floor(o.steps / 10)), total: o.steps }),
    clipNorm: 1,
    loss: ([tokens, targets]) => crossEntropy(model.forward(tokens!).logits, targets!),
  });
  const data = rng.fork();
  const history: StepResult[] = [];
  for (let i = 0; i < o.steps; i++) {
    const { tokens, targets } = toyBatch(data, o.batch, o.length);
    const r = await step.run([tokens, targets]);
    history.push(r);
    o.onStep?.(r);
  }
  return { history, model };
}
