/**
 * protdistil's side of the training benchmark, one configuration per process (so its peak RSS is
 * its own): `node dist/bench/train-ours.js DIR throughput|ttp`, DIR prepared by bench/train.ts.
 * It builds the student exactly as `protdistil train` does (createEsmModel + initEsmWeights with
 * the run seed's streams 4 and 5), writes its initial weights for the peer, and trains with the
 * code `train` runs: `mlmTrainStep` (one ONNX Runtime run per step) and, for distillation, a
 * `LiveTeacher` (an ONNX inference session with constant weights). Prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MlmStream, mixSeed, type MlmBatch } from '../src/data/mlm-stream.js';
import { loadSequenceSet } from '../src/data/sequence-set.js';
import { mlmTrainStep } from '../src/distill/train-run.js';
import { LiveTeacher } from '../src/distill/teacher.js';
import { maskedPerplexity, modelLogits, scoredPositions } from '../src/eval/perplexity.js';
import { readNpy, writeNpy } from '../src/io/npy.js';
import { parseEsmConfig } from '../src/models/esm/config.js';
import { initEsmWeights } from '../src/models/esm/init.js';
import { createEsmModel, type EsmModel } from '../src/models/esm/model.js';
import { constantSchedule } from '../src/optim/schedules.js';
import { setConcurrentMarking } from '../src/runtime/gc-mode.js';
import { configureRuntime } from '../src/runtime/program.js';
import { hostArray, type HostArray } from '../src/tensor/host-array.js';
import { Rng } from '../src/tensor/random.js';
import { batchAt, writeWeights, type TrainBenchSpec } from './train-common.js';

const [dir, mode] = process.argv.slice(2) as [string, string];
const spec = JSON.parse(readFileSync(join(dir, 'spec.json'), 'utf8')) as TrainBenchSpec;
configureRuntime({ threads: spec.threads });
setConcurrentMarking(false); // as the CLI does for long training loops (docs/ENGINE.md)

/** The student exactly as `runTraining` builds it. */
function buildStudent(): EsmModel {
  const model = createEsmModel(parseEsmConfig(spec.model), new Rng(mixSeed(spec.seed, 4)));
  initEsmWeights(model, new Rng(mixSeed(spec.seed, 5)));
  writeWeights(model, join(dir, 'student.pt'));
  return model;
}

function trainStep(model: EsmModel) {
  return mlmTrainStep(model, {
    lambda: spec.lambda,
    temperature: spec.temperature,
    weightDecay: spec.weightDecay,
    schedule: constantSchedule({ peak: spec.lr, warmup: spec.warmup }),
    ...(spec.clip === null ? {} : { clip: spec.clip }),
  });
}

const asBatch = (index: number, tokens: HostArray<'int64'>, targets: HostArray<'int64'>, tokenCount: number): MlmBatch => ({ epoch: 0, index, rows: [], tokens, targets, selected: 0, tokenCount });

async function throughput(): Promise<unknown> {
  const tokens = readNpy(join(spec.batchesDir, 'tokens.npy'));
  const targets = readNpy(join(spec.batchesDir, 'targets.npy'));
  const lengths = readNpy(join(spec.batchesDir, 'lengths.npy'));
  const n = Math.min(spec.batches ?? Infinity, lengths.shape[0] as number);
  const batches = Array.from({ length: n }, (_, i) => batchAt(tokens, targets, lengths, i));
  const model = buildStudent();
  let teacher: LiveTeacher | null = null;
  let teacherCompileMs = 0;
  if (spec.lambda > 0) {
    if (spec.teacherModel === null) throw new Error('lambda > 0 needs a teacher model');
    const tm = createEsmModel(parseEsmConfig(spec.teacherModel), new Rng(mixSeed(spec.seed, 6)));
    initEsmWeights(tm, new Rng(mixSeed(spec.seed, 7)));
    writeWeights(tm, join(dir, 'teacher.pt'));
    const t0 = performance.now();
    teacher = await LiveTeacher.fromModel(tm, 'esm2-8m-shaped teacher', 'bench');
    teacherCompileMs = performance.now() - t0;
  }
  const step = trainStep(model);
  const [, B, Tmax] = tokens.shape as [number, number, number];
  const V = spec.model.vocabSize;
  const zAll = teacher === null ? null : new Float32Array(n * B * Tmax * V);
  const steps: { ms: number; teacher_ms: number; tokens: number; padded: number; loss: number }[] = [];
  for (let i = 0; i < n; i++) {
    const b = batches[i] as (typeof batches)[number];
    const inputs: HostArray[] = [b.tokens, b.targets];
    const t0 = performance.now();
    if (teacher !== null) inputs.push(await teacher.logits(asBatch(i, b.tokens, b.targets, b.count)));
    const t1 = performance.now();
    const r = await step.run(inputs);
    const t2 = performance.now();
    if (!Number.isFinite(r.loss)) throw new Error(`non-finite loss at step ${i}`);
    steps.push({ ms: t2 - t0, teacher_ms: t1 - t0, tokens: b.count, padded: b.tokens.data.length, loss: r.loss });
    if (zAll !== null) {
      const T = b.tokens.shape[1] as number;
      const z = (inputs[2] as HostArray).data as Float32Array;
      for (let r0 = 0; r0 < B; r0++) zAll.set(z.subarray(r0 * T * V, (r0 + 1) * T * V), (i * B + r0) * Tmax * V);
    }
    process.stderr.write(`  ours ${spec.name}: step ${i + 1}/${n} ${(t2 - t0).toFixed(0)} ms\n`);
  }
  if (zAll !== null) writeNpy(join(dir, 'teacher_logits.npy'), hostArray('float32', [n, B, Tmax, V], zAll));
  return { steps, compile_ms: step.compileMs, teacher_compile_ms: teacherCompileMs, params: model.numParameters() };
}

async function timeToPpl(): Promise<unknown> {
  const s = spec.stream;
  if (s === undefined || spec.budgetSec === undefined || spec.evalEverySec === undefined) throw new Error('ttp spec lacks stream/budget');
  const train = await loadSequenceSet(s.train);
  const valid = await loadSequenceSet(s.valid, { limit: s.validLimit });
  const stream = new MlmStream(train, { seed: spec.seed, crop: s.crop, maskProb: s.maskProb, batchSize: s.batchSize });
  const scored = scoredPositions(valid, { seed: spec.seed, truncation: 1022 });
  const model = buildStudent();
  const step = trainStep(model);
  const logits = await modelLogits(model, 1024);
  const curve: { elapsed_s: number; step: number; tokens: number; ppl: number; acc: number; scored: number; eval_s: number }[] = [];
  const evaluate = async (clock: number, k: number, seen: number): Promise<void> => {
    const e0 = performance.now();
    const r = await maskedPerplexity(logits, scored, 'pure');
    curve.push({ elapsed_s: clock, step: k, tokens: seen, ppl: r.perplexity, acc: r.accuracy, scored: r.scored, eval_s: (performance.now() - e0) / 1000 });
    process.stderr.write(`  ours: ${clock.toFixed(0)} s, step ${k}, pure-mask ppl ${r.perplexity.toFixed(3)}\n`);
  };
  await evaluate(0, 0, 0);
  const perEpoch = stream.batchesPerEpoch();
  let clock = 0;
  let k = 0;
  let seen = 0;
  let nextEval = spec.evalEverySec;
  const losses: number[] = [];
  while (clock < spec.budgetSec) {
    const t0 = performance.now();
    const b = stream.batch(Math.floor(k / perEpoch), k % perEpoch);
    const r = await step.run([b.tokens, b.targets]);
    clock += (performance.now() - t0) / 1000;
    if (!Number.isFinite(r.loss)) throw new Error(`non-finite loss at step ${k}`);
    k++;
    seen += b.tokenCount;
    losses.push(r.loss);
    if (clock >= nextEval && clock < spec.budgetSec) {
      await evaluate(clock, k, seen);
      nextEval += spec.evalEverySec;
    }
  }
  await evaluate(clock, k, seen);
  return { curve, steps: k, tokens: seen, loss_first: losses[0] ?? null, loss_last: losses.at(-1) ?? null, compile_ms: step.compileMs };
}

const out = (await (mode === 'ttp' ? timeToPpl() : throughput())) as Record<string, unknown>;
out.peak_rss_mb = process.resourceUsage().maxRSS / 1024;
out.threads = spec.threads;
process.stdout.write(`${JSON.stringify(out)}\n`);
