/**
 * Time-to-perplexity: protdistil and PyTorch train the same model from the same weights on the same
 * batches in the same order for the same wall-clock budget, and both report pure-mask validation
 * perplexity at the same marks of training time.
 *   node dist/bench/train.js --time-to-ppl MINUTES [--ttp-model esm2-8m] [--ttp-heads H] [--ttp-crop 128] [--ttp-batch 32]
 *     [--ttp-lr 1e-3] [--ttp-warmup 100] [--ttp-eval-every SECONDS] [--ttp-valid ../shared/data/pretrain/valid.fasta]
 *     [--ttp-valid-n 120] [--ttp-max-tok-s 8000] [--threads 2] [--torch-threads N] [--seed 0] [--train …]
 *
 * Our side rebuilds the `train` data stream (MlmStream: seed, crop, batch size, 15 % masking 80/10/10)
 * and scores with src/eval/perplexity.ts; the batches of the stream's first epoch and the pure-mask
 * validation rows with their scored positions (the first --ttp-valid-n sequences, seed-fixed positions)
 * are exported to .npy for the PyTorch side, which therefore sees exactly the same data in the same
 * order and scores exactly the same positions. Schedule: linear warm-up then constant (the budget is
 * time, so there is no step count to decay to); no clipping. The clock counts training only (making
 * the batch, the step); evaluation pauses it on both sides. Run the sides one after the other, so they
 * do not compete for the cores.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SPECIAL_IDS } from '../src/data/alphabet.js';
import { IGNORE_INDEX } from '../src/data/masking.js';
import { MlmStream } from '../src/data/mlm-stream.js';
import { loadSequenceSet } from '../src/data/sequence-set.js';
import { corruptedRow, scoredPositions } from '../src/eval/perplexity.js';
import { writeNpy } from '../src/io/npy.js';
import { esmPreset, parseEsmConfig } from '../src/models/esm/config.js';
import { hostArray } from '../src/tensor/host-array.js';
import { machineLine, table } from './peer.js';
import { flagReader, ROOT, runOurs, runTorch, writeBatches, writeSpec, type TrainBenchSpec } from './train-common.js';

interface Mark { elapsed_s: number; step: number; tokens: number; ppl: number; acc: number; scored: number; eval_s: number }
interface TtpResult { curve: Mark[]; steps: number; tokens: number; loss_first: number | null; loss_last: number | null; peak_rss_mb: number }

/** Training seconds at which a curve first reaches `ppl` or below (null if never). */
function firstReach(curve: readonly Mark[], ppl: number): number | null {
  return curve.find((m) => m.ppl <= ppl)?.elapsed_s ?? null;
}

/** Runs the time-to-perplexity comparison and prints both curves. */
export async function runTimeToPpl(args: readonly string[]): Promise<void> {
  const flag = flagReader(args);
  const minutes = Number(flag('--time-to-ppl', '5'));
  if (!(minutes > 0)) throw new Error('--time-to-ppl needs a positive number of minutes');
  const budgetSec = minutes * 60;
  const threads = Number(flag('--threads', '2'));
  const torchThreads = Number(flag('--torch-threads', String(threads)).split(',')[0]);
  const seed = Number(flag('--seed', '0'));
  const preset = flag('--ttp-model', 'esm2-8m');
  const heads = flag('--ttp-heads', '');
  const crop = Number(flag('--ttp-crop', '128'));
  const batchSize = Number(flag('--ttp-batch', '32'));
  const lr = Number(flag('--ttp-lr', '1e-3'));
  const warmup = Number(flag('--ttp-warmup', '100'));
  const evalEverySec = Number(flag('--ttp-eval-every', String(Math.max(30, budgetSec / 5))));
  const validLimit = Number(flag('--ttp-valid-n', '120'));
  const maxTokS = Number(flag('--ttp-max-tok-s', '8000'));
  const train = resolve(flag('--train', join(ROOT, '..', 'shared', 'data', 'pretrain', 'train.fasta.gz')));
  const valid = resolve(flag('--ttp-valid', join(ROOT, '..', 'shared', 'data', 'pretrain', 'valid.fasta')));
  const dir = join(ROOT, '.bench-out', 'train', 'ttp');
  mkdirSync(dir, { recursive: true });

  console.log(`protdistil time-to-perplexity — ${new Date().toISOString()} — ${machineLine()}`);
  const set = await loadSequenceSet(train);
  const stream = new MlmStream(set, { seed, crop, batchSize, maskProb: 0.15 });
  const n = Math.min(stream.batchesPerEpoch(), Math.ceil((budgetSec * maxTokS) / (batchSize * (crop + 2))));
  writeBatches(dir, Array.from({ length: n }, (_, i) => stream.batch(0, i)), SPECIAL_IDS.pad, IGNORE_INDEX);

  // Pure-mask validation rows and their scored positions, exactly as maskedPerplexity forms them.
  const vset = await loadSequenceSet(valid, { limit: validLimit });
  const scored = scoredPositions(vset, { seed, truncation: 1022 });
  const Tmax = Math.max(...scored.map((s) => s.ids.length + 2));
  const vt = new Int32Array(scored.length * Tmax).fill(SPECIAL_IDS.pad);
  const vl = new Int32Array(scored.length);
  const pos: number[] = [];
  const truth: number[] = [];
  scored.forEach((s, r) => {
    const row = corruptedRow(s, 'pure');
    vt.set(row, r * Tmax);
    vl[r] = row.length;
    s.positions.forEach((p) => {
      pos.push(r, p + 1);
      truth.push(s.ids[p] as number);
    });
  });
  writeNpy(join(dir, 'valid_tokens.npy'), hostArray('int32', [scored.length, Tmax], vt));
  writeNpy(join(dir, 'valid_lengths.npy'), hostArray('int32', [scored.length], vl));
  writeNpy(join(dir, 'valid_pos.npy'), hostArray('int32', [truth.length, 2], Int32Array.from(pos)));
  writeNpy(join(dir, 'valid_truth.npy'), hostArray('int32', [truth.length], Int32Array.from(truth)));

  const spec: TrainBenchSpec = {
    name: `ttp-${preset}${heads === '' ? '' : `-h${heads}`}`, model: heads === '' ? esmPreset(preset) : parseEsmConfig({ ...esmPreset(preset), attentionHeads: Number(heads) }), teacherModel: null, lambda: 0, temperature: 1, lr, warmup, weightDecay: 0.01, clip: null, seed, threads,
    batchesDir: dir, budgetSec, evalEverySec, stream: { train, valid, validLimit, crop, batchSize, maskProb: 0.15 },
  };
  writeSpec(dir, spec);
  console.log(`${preset}${heads === '' ? '' : ` with ${heads} heads`}, crop ${crop}, batch ${batchSize}, AdamW lr ${lr} (warm-up ${warmup} steps, then constant), seed ${seed}; budget ${minutes} min of training per side, evaluation every ${evalEverySec} s of training on ${truth.length} pure-masked positions of the first ${validLimit} sequences of ${valid}; ${n} batches exported; threads ours ${threads}, torch ${torchThreads}`);
  console.log('\nprotdistil…');
  const ours = runOurs<TtpResult>(dir, 'ttp');
  console.log('PyTorch…');
  const torch = runTorch<TtpResult>(dir, 'ttp', torchThreads);

  const rows: (string | number)[][] = [];
  for (let i = 0; i < Math.max(ours.curve.length, torch.curve.length); i++) {
    const o = ours.curve[i];
    const p = torch.curve[i];
    rows.push([o?.elapsed_s ?? '-', o?.step ?? '-', o?.tokens ?? '-', o?.ppl ?? '-', p?.elapsed_s ?? '-', p?.step ?? '-', p?.tokens ?? '-', p?.ppl ?? '-']);
  }
  console.log('\npure-mask validation perplexity against training time (seconds; evaluation excluded)');
  console.log(table(['ours s', 'ours step', 'ours tokens', 'ours ppl', 'torch s', 'torch step', 'torch tokens', 'torch ppl'], rows));
  const oursFinal = ours.curve.at(-1) as Mark;
  const torchFinal = torch.curve.at(-1) as Mark;
  const reach = firstReach(ours.curve, torchFinal.ppl);
  const torchReach = firstReach(torch.curve, torchFinal.ppl);
  console.log(`tokens/s over the budget: ours ${(ours.tokens / oursFinal.elapsed_s).toFixed(0)}, torch ${(torch.tokens / torchFinal.elapsed_s).toFixed(0)}; first loss ours ${ours.loss_first?.toFixed(5)}, torch ${torch.loss_first?.toFixed(5)}; peak RSS ours ${ours.peak_rss_mb.toFixed(0)} MB, torch ${torch.peak_rss_mb.toFixed(0)} MB`);
  console.log(`PyTorch's final pure-mask perplexity ${torchFinal.ppl.toFixed(3)} (first reached at ${torchReach?.toFixed(0)} s); protdistil's final ${oursFinal.ppl.toFixed(3)}; protdistil reached ${torchFinal.ppl.toFixed(3)} at ${reach === null ? 'no evaluation mark' : `${reach.toFixed(0)} s`}`);
  console.log(`goal (protdistil reaches PyTorch's final value in less time): ${reach !== null && torchReach !== null && reach < torchReach ? 'met' : 'NOT met'} (at the granularity of the evaluation marks)`);
  writeFileSync(join(dir, 'bench_ttp.json'), `${JSON.stringify({ machine: machineLine(), date: new Date().toISOString(), spec, ours, torch }, null, 2)}\n`);
  console.log(`details: ${join(dir, 'bench_ttp.json')}`);
}
