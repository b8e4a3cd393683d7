import type { Command } from 'commander';
import { TOY_CONFIG, trainToyMlm } from '../demo/toy-mlm.js';
import { parseIntFlag, parseFloatFlag } from './flags.js';
import { progressBar } from './progress.js';

/** `protdistil demo`: trains a tiny ESM-2-style model on a toy masked-token task and prints its loss. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('engine demo: train a 2-layer ESM-2-style transformer on a toy masked-token task (one ONNX run per step)')
    .option('--steps <n>', 'training steps', '300')
    .option('--batch-size <n>', 'sequences per batch', '16')
    .option('--length <n>', 'residues per sequence', '24')
    .option('--lr <x>', 'peak learning rate (AdamW, cosine schedule with warmup)', '1e-2')
    .option('--seed <n>', 'random seed', '7')
    .action(async (o: Record<string, string>) => {
      const steps = parseIntFlag('--steps', o.steps, 1);
      const bar = progressBar('demo', steps, 'loss {loss}');
      const t0 = performance.now();
      const { history } = await trainToyMlm({
        steps,
        batch: parseIntFlag('--batch-size', o.batchSize, 1),
        length: parseIntFlag('--length', o.length, 4),
        lr: parseFloatFlag('--lr', o.lr, 0),
        seed: parseIntFlag('--seed', o.seed, 0),
        onStep: (r) => bar.update(r.step, { loss: r.loss.toFixed(4) }),
      });
      bar.stop();
      const secs = (performance.now() - t0) / 1000;
      const every = Math.max(1, Math.floor(steps / 10));
      console.log(`toy masked-token task, model ${TOY_CONFIG.numLayers} layers x ${TOY_CONFIG.embedDim} dims (chance loss ${Math.log(20).toFixed(3)})`);
      for (const r of history) if (r.step % every === 0 || r.step === 1) console.log(`step ${String(r.step).padStart(5)}  loss ${r.loss.toFixed(4)}  lr ${r.lr.toExponential(2)}`);
      console.log(`trained ${steps} steps in ${secs.toFixed(1)} s (${(secs * 1000 / steps).toFixed(1)} ms/step)`);
    });
}
