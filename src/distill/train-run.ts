import { appendFileSync, existsSync, mkdirSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MlmStream, mixSeed, type MlmBatch } from '../data/mlm-stream.js';
import { fileSha256, loadSequenceSet, type SequenceSet } from '../data/sequence-set.js';
import { configError, isProtdistilError, runtimeError, shapeError } from '../errors.js';
import { maskedPerplexity, modelLogits, scoredPositions, type LogitsFn, type PerplexityResult, type ScoredSequence } from '../eval/perplexity.js';
import { initEsmWeights } from '../models/esm/init.js';
import { createEsmModel, type EsmModel } from '../models/esm/model.js';
import { crossEntropy, distillationLoss } from '../nn/functional/losses.js';
import { adamw } from '../optim/adam.js';
import { scheduleByName, type Schedule } from '../optim/schedules.js';
import type { HostArray } from '../tensor/host-array.js';
import { Rng } from '../tensor/random.js';
import { checkIdentity, faultPoint, loadLatestCheckpoint, saveCheckpoint, type TrainState } from '../train/checkpoint.js';
import { TrainStep, type StepResult } from '../train/train-step.js';
import { writeModelOutputs } from './model-outputs.js';
import { effectiveLambda, studentConfig, type TrainConfig } from './train-config.js';
import { LiveTeacher, type TeacherSource } from './teacher.js';
import { TeacherCache } from './teacher-cache.js';

/**
 * One `protdistil train` run: masked-LM training, with knowledge distillation when a teacher is
 * given, of an ESM-style model (the method of the distillation study):
 *
 *     L = (1 − λ)·CE(student(x̃), x) + λ·T²·KL(softmax(z_t/T) ‖ softmax(z_s/T))   on masked positions
 *
 * Each step is one ONNX Runtime run of the compiled step graph (forward, loss, backward, clipping,
 * AdamW). Data, masks and batch order come from `MlmStream` (pure functions of seed and position),
 * so checkpoints (train/checkpoint.ts) resume bit for bit. Validation reports pure-mask perplexity
 * (the headline and the best-checkpoint criterion) and, labelled, the 80/10/10 figure.
 */

/** Events a front end (the CLI) shows. */
export interface TrainEvents {
  readonly onStart?: (info: TrainStartInfo) => void;
  readonly onStep?: (r: StepRecord) => void;
  readonly onValid?: (v: ValidRecord) => void;
  readonly onNote?: (text: string) => void;
}

/** What is known when training starts. */
export interface TrainStartInfo {
  readonly totalSteps: number;
  readonly startStep: number;
  readonly batchesPerEpoch: number;
  readonly parameters: number;
  readonly trainSequences: number;
  readonly validSequences: number;
  readonly lambda: number;
  readonly resumedFrom: string | null;
}

/** One logged training step. */
export interface StepRecord {
  readonly type: 'train';
  readonly step: number;
  readonly epoch: number;
  readonly loss: number;
  readonly ce: number;
  readonly kd: number | null;
  readonly lr: number;
  readonly gradNorm: number;
  readonly tokens: number;
  readonly tokensPerSec: number;
  readonly elapsedSec: number;
  readonly skipped: boolean;
}

/** One validation. */
export interface ValidRecord {
  readonly type: 'valid';
  readonly step: number;
  readonly elapsedSec: number;
  readonly pure: PerplexityResult;
  readonly bert: PerplexityResult;
  readonly best: boolean;
}

/** What a finished run reports. */
export interface TrainResult {
  readonly steps: number;
  readonly stoppedBy: 'steps' | 'time';
  readonly tokens: number;
  readonly elapsedSec: number;
  readonly finalValid: ValidRecord | null;
  readonly best: { readonly perplexity: number; readonly step: number } | null;
  readonly parameters: number;
  readonly outputs: { readonly final: string; readonly best: string | null };
  readonly teacherShare: number | null;
}

/** Runs training to the configured budget. */
export async function runTraining(cfg: TrainConfig, resume: boolean, ev: TrainEvents = {}): Promise<TrainResult> {
  const mcfg = studentConfig(cfg);
  const lambda = effectiveLambda(cfg);
  if (mcfg.arch === 'esm1b' && cfg.crop + 2 > mcfg.maxPositions) {
    throw configError(`--crop ${cfg.crop} does not fit an ESM-1b-style model: crop + BOS + EOS must be at most its ${mcfg.maxPositions} learned positions (use --crop ${mcfg.maxPositions - 2} or less)`);
  }
  const out = cfg.out;
  const ckptRoot = join(out, 'checkpoints');
  if (!resume && existsSync(join(ckptRoot, 'latest.json'))) {
    throw configError(`${out} already holds a training run (checkpoints/latest.json); pass --resume to continue it, or choose another --out`);
  }
  const unknown = cfg.unknownAsUnk ? 'unk' : 'error';
  const train = await loadSequenceSet(cfg.train, { unknown });
  const valid = cfg.valid === undefined ? null : await loadSequenceSet(cfg.valid, { unknown, ...(cfg.validLimit === undefined ? {} : { limit: cfg.validLimit }) });
  // A teacher cache fixes the mask draws: epoch e uses draw e mod K (src/distill/teacher-cache.ts).
  const cache = lambda > 0 && cfg.teacherCache !== undefined ? TeacherCache.open(cfg.teacherCache) : null;
  const maskCycle = cache === null ? cfg.maskCycle : cache.useMaskCycle(cfg.maskCycle);
  const stream = new MlmStream(train, {
    ...(maskCycle === undefined ? {} : { maskCycle }),
    seed: cfg.seed,
    crop: cfg.crop,
    maskProb: cfg.maskProb,
    bucketStep: cfg.bucketStep,
    ...(cfg.toksPerBatch !== undefined ? { toksPerBatch: cfg.toksPerBatch } : { batchSize: cfg.batchSize ?? 32 }),
  });
  const perEpoch = stream.batchesPerEpoch();
  const totalSteps = cfg.maxSteps ?? Math.max(1, Math.ceil((cfg.epochs ?? 1) * perEpoch));
  const warmup = cfg.warmupSteps ?? Math.min(1000, Math.floor(totalSteps / 10));
  if (cfg.schedule !== 'constant' && warmup >= totalSteps) throw configError(`--warmup-steps ${warmup} must be below the run's ${totalSteps} steps`);

  const trainSha = await fileSha256(cfg.train);
  cache?.checkRun({ train: cfg.train, trainSha256: trainSha, sequences: train.ids.length, unknownAsUnk: cfg.unknownAsUnk, seed: cfg.seed, crop: cfg.crop, maskProb: cfg.maskProb });
  const teacher: TeacherSource | null = lambda > 0 && cfg.teacher !== undefined ? await LiveTeacher.load(cfg.teacher, await teacherFingerprint(cfg.teacher)) : cache;
  if (lambda > 0 && teacher === null) throw configError('distillation (λ > 0) needs --teacher or --teacher-cache');

  const identity: Record<string, unknown> = {
    model: mcfg,
    train: { file: trainSha, sequences: train.ids.length, unknownAsUnk: cfg.unknownAsUnk },
    teacher: teacher === null ? null : teacher.fingerprint,
    lambda,
    temperature: cfg.temperature,
    seed: cfg.seed,
    maskProb: cfg.maskProb,
    crop: cfg.crop,
    ...(maskCycle === undefined ? {} : { maskCycle }),
    batching: cfg.toksPerBatch !== undefined ? { toksPerBatch: cfg.toksPerBatch } : { batchSize: cfg.batchSize ?? 32 },
    bucketStep: cfg.bucketStep,
    optimizer: { name: 'adamw', lr: cfg.lr, weightDecay: cfg.weightDecay, clip: cfg.clip ?? null },
    schedule: { name: cfg.schedule, warmup, total: totalSteps },
  };

  const model = createEsmModel(mcfg, new Rng(mixSeed(cfg.seed, 4)));
  initEsmWeights(model, new Rng(mixSeed(cfg.seed, 5)));
  const step = mlmTrainStep(model, {
    lambda,
    temperature: cfg.temperature,
    weightDecay: cfg.weightDecay,
    schedule: scheduleByName(cfg.schedule, { peak: cfg.lr, warmup, ...(cfg.schedule === 'constant' ? {} : { total: totalSteps }) }),
    ...(cfg.clip === undefined ? {} : { clip: cfg.clip }),
    skipNonfinite: cfg.skipNonfinite,
  });

  mkdirSync(out, { recursive: true });
  const logPath = join(out, 'train_log.jsonl');
  let st: Omit<TrainState, 'identity' | 'format' | 'version' | 'logBytes'> = { step: 0, epoch: 0, batchIndex: 0, tokensSeen: 0, elapsedMs: 0, best: null };
  let resumedFrom: string | null = null;
  if (resume) {
    const ck = loadLatestCheckpoint(out);
    checkIdentity(ck.state.identity, JSON.parse(JSON.stringify(identity)) as Record<string, unknown>, ck.dir);
    model.loadStateDict(ck.params);
    step.loadOptimizerState(ck.optimizer, ck.state.step);
    st = { step: ck.state.step, epoch: ck.state.epoch, batchIndex: ck.state.batchIndex, tokensSeen: ck.state.tokensSeen, elapsedMs: ck.state.elapsedMs, best: ck.state.best };
    // Log lines written after that checkpoint belong to the lost part of the interrupted run.
    if (existsSync(logPath) && statSync(logPath).size > ck.state.logBytes) truncateSync(logPath, ck.state.logBytes);
    resumedFrom = ck.dir;
  } else {
    writeFileSync(logPath, '');
  }

  const scored: ScoredSequence[] | null = valid === null ? null : scoredPositions(valid, { seed: cfg.seed, truncation: mcfg.arch === 'esm1b' ? mcfg.maxPositions - 2 : 1022 });
  let logits: LogitsFn | null = null;
  const validate = async (elapsedMs: number): Promise<ValidRecord | null> => {
    if (scored === null) return null;
    logits ??= await modelLogits(model, mcfg.arch === 'esm1b' ? mcfg.maxPositions : 1024);
    const pure = await maskedPerplexity(logits, scored, 'pure');
    const bert = await maskedPerplexity(logits, scored, 'bert');
    const isBest = st.best === null || pure.perplexity < st.best.perplexity;
    if (isBest) {
      st = { ...st, best: { perplexity: pure.perplexity, step: st.step } };
      writeModelOutputs(model, join(out, 'best'));
    }
    const rec: ValidRecord = { type: 'valid', step: st.step, elapsedSec: elapsedMs / 1000, pure, bert, best: isBest };
    appendFileSync(logPath, `${JSON.stringify(rec)}\n`);
    ev.onValid?.(rec);
    return rec;
  };

  const save = (): void => {
    const logBytes = existsSync(logPath) ? statSync(logPath).size : 0;
    saveCheckpoint(ckptRoot, { format: 'protdistil-train-state', version: 1, ...st, logBytes, identity: JSON.parse(JSON.stringify(identity)) as Record<string, unknown> }, model.stateDict(), step.optimizerState());
  };

  ev.onStart?.({ totalSteps, startStep: st.step, batchesPerEpoch: perEpoch, parameters: model.numParameters(), trainSequences: train.ids.length, validSequences: valid?.ids.length ?? 0, lambda, resumedFrom });
  const t0 = performance.now() - st.elapsedMs;
  let stoppedBy: 'steps' | 'time' = 'steps';
  let windowTokens = 0;
  let windowStart = performance.now();
  let lastValid: ValidRecord | null = null;
  let teacherMs = 0;
  let stepMs = 0;
  while (st.step < totalSteps) {
    if (cfg.maxTime !== undefined && performance.now() - t0 >= cfg.maxTime) {
      stoppedBy = 'time';
      break;
    }
    const batch = stream.batch(st.epoch, st.batchIndex);
    const inputs: HostArray[] = [batch.tokens, batch.targets];
    const ts = performance.now();
    if (teacher !== null) {
      const z = await teacher.logits(batch);
      checkTeacherLogits(z, batch);
      inputs.push(z);
      teacherMs += performance.now() - ts;
    }
    let r: StepResult;
    try {
      r = await step.run(inputs);
    } catch (e) {
      if (isProtdistilError(e, 'runtime') && /non-finite/.test((e as Error).message)) {
        throw runtimeError(`${(e as Error).message}; the last checkpoint in ${ckptRoot} is intact (resume with --resume after lowering --lr or adding --clip, or pass --skip-nonfinite)`, e);
      }
      throw e;
    }
    stepMs += performance.now() - ts;
    const skipped = !r.finite;
    if (skipped) step.skipStep();
    st = { ...st, step: step.step, tokensSeen: st.tokensSeen + batch.tokenCount };
    const next = st.batchIndex + 1;
    st = next >= perEpoch ? { ...st, epoch: st.epoch + 1, batchIndex: 0 } : { ...st, batchIndex: next };
    windowTokens += batch.tokenCount;
    const now = performance.now();
    st = { ...st, elapsedMs: now - t0 };
    if (st.step % cfg.logEvery === 0 || skipped || st.step === totalSteps) {
      const rec: StepRecord = {
        type: 'train',
        step: st.step,
        epoch: batch.epoch,
        loss: r.loss,
        ce: r.metrics.ce ?? r.loss,
        kd: r.metrics.kd ?? null,
        lr: r.lr,
        gradNorm: r.gradNorm,
        tokens: st.tokensSeen,
        tokensPerSec: windowTokens / Math.max(1e-9, (now - windowStart) / 1000),
        elapsedSec: st.elapsedMs / 1000,
        skipped,
      };
      appendFileSync(logPath, `${JSON.stringify(rec)}\n`);
      ev.onStep?.(rec);
      windowTokens = 0;
      windowStart = now;
    }
    if (st.step % cfg.evalEvery === 0) lastValid = await validate(st.elapsedMs);
    if (st.step % cfg.saveEvery === 0) save();
    faultPoint('after-step');
  }
  if (lastValid === null || lastValid.step !== st.step) lastValid = await validate(performance.now() - t0);
  st = { ...st, elapsedMs: performance.now() - t0 };
  save();
  cache?.close();
  const finalDir = join(out, 'final');
  writeModelOutputs(model, finalDir);
  return {
    steps: st.step,
    stoppedBy,
    tokens: st.tokensSeen,
    elapsedSec: st.elapsedMs / 1000,
    finalValid: lastValid,
    best: st.best,
    parameters: model.numParameters(),
    outputs: { final: finalDir, best: st.best === null ? null : join(out, 'best') },
    teacherShare: teacher === null || stepMs === 0 ? null : teacherMs / stepMs,
  };
}

/** Options of {@link mlmTrainStep}. */
export interface MlmStepOptions {
  /** Weight of the distillation term; 0 trains on the masked-LM loss alone (two batch inputs). */
  readonly lambda: number;
  readonly temperature: number;
  readonly weightDecay: number;
  readonly schedule: Schedule;
  readonly clip?: number;
  readonly skipNonfinite?: boolean;
}

/**
 * The compiled training step of a run: batch inputs `[tokens, targets]`, plus the teacher's logits
 * (B, T, V) when λ > 0; loss `(1 − λ)·CE + λ·T²·KL` over the masked positions (targets ≠ −100),
 * reported with its parts as metrics `ce` and `kd`; AdamW.
 */
export function mlmTrainStep(model: EsmModel, o: MlmStepOptions): TrainStep {
  return new TrainStep({
    params: model.namedParameters(),
    optimizer: adamw({ weightDecay: o.weightDecay }),
    schedule: o.schedule,
    ...(o.clip === undefined ? {} : { clipNorm: o.clip }),
    onNonFinite: o.skipNonfinite === true ? 'skip' : 'throw',
    loss: (inputs) => {
      const [tokens, targets, zt] = inputs;
      const logits = model.forward(tokens!).logits; // (B, T, V)
      if (o.lambda === 0) return { loss: crossEntropy(logits, targets!), metrics: {} };
      if (zt === undefined) throw configError('distillation (λ > 0) needs the teacher logits as the third batch input');
      const d = distillationLoss(logits, zt, targets!, { lambda: o.lambda, temperature: o.temperature });
      return { loss: d.loss, metrics: { ce: d.ce, kd: d.kl } };
    },
  });
}

/** A teacher's weights fingerprint: SHA-256 of its checkpoint file(s). */
export async function teacherFingerprint(path: string): Promise<string> {
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    if (!existsSync(path)) throw configError(`cannot load the teacher ${path}: no such file or directory`);
    return fileSha256(path);
  }
  const files = readdirSync(path).filter((f) => f.endsWith('.safetensors') || f === 'config.json' || f.endsWith('.bin')).sort();
  const parts = await Promise.all(files.map(async (f) => `${f}:${await fileSha256(join(path, f))}`));
  return parts.join(',');
}

function checkTeacherLogits(z: HostArray, batch: MlmBatch): void {
  const [b, t] = batch.tokens.shape as [number, number];
  if (z.shape.length !== 3 || z.shape[0] !== b || z.shape[1] !== t) {
    throw shapeError('teacher', `logits ${JSON.stringify(z.shape)} do not match the batch (${b}, ${t}, V)`);
  }
}
