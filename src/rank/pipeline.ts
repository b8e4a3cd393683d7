import { dataError } from '../errors.js';
import { f32Matrix } from '../linalg/engine.js';
import { truncatedSvd, type SpectralSvd } from '../linalg/truncated-svd.js';
import { runtimeOptions } from '../runtime/program.js';
import { Rng } from '../tensor/random.js';
import type { StepResult } from '../train/train-step.js';
import { closedFormFactors, inputStats, outputBasis, type InputStats, type OutputBasis } from './closed-form.js';
import { DEFAULT_RANK, resolveSolver, TEACHER_KINDS, type RankConfig, type TeacherKind } from './config.js';
import { denseForward, denseParameters, mapRows } from './dense-layer.js';
import { distill, type DistillHistory } from './distill.js';
import { holdOutSplit, readEmbeddings, type Embeddings } from './embeddings.js';
import { timeDense, timeLowRank, type Timing } from './latency.js';
import { checkRank, lowRankForward, lowRankParameters, svdFactors, type LowRankFactors } from './low-rank-linear.js';
import { fidelity, type Fidelity } from './metrics.js';
import { syntheticEmbeddings } from './synthetic.js';
import { makeTeacher } from './teachers.js';

/**
 * The Distil-Rank run: load (or synthesise) embeddings, then for every teacher compare three
 * rank-r replacements on the same held-out inputs — weight-space truncated SVD, the exact
 * data-aware closed form, and the distilled student — and measure speed and compression. Returns
 * plain data; the CLI prints and writes it (nothing here touches the output directory).
 */

/** Callbacks for progress reporting. */
export interface RankHooks {
  /** One line per stage. */
  readonly log?: (line: string) => void;
  /** Called with each teacher's results as soon as they are complete. */
  readonly onTeacher?: (t: TeacherResult) => void;
  /** A progress bar for a loop of `total` steps. */
  readonly progress?: (label: string, total: number) => { update(step: number, payload?: Record<string, string | number>): void; stop(): void };
}

/** Where the inputs came from. */
export interface DataInfo {
  readonly realData: boolean;
  readonly train: { readonly rows: number; readonly source: string };
  readonly val: { readonly rows: number; readonly source: string };
  /** 'file' (a held-out file) or 'split' (a seeded hold-out of the training file) or 'synthetic'. */
  readonly validation: 'file' | 'split' | 'synthetic';
  readonly valFraction?: number;
  readonly synthetic?: Readonly<Record<string, unknown>>;
  readonly dim: number;
}

/** One compression method evaluated on the held-out and the training inputs. */
export interface MethodResult {
  readonly factors: LowRankFactors;
  readonly val: Fidelity;
  readonly train: Fidelity;
}

/** Closed-form and weight-SVD fidelity at one rank of the sweep (held-out inputs). */
export interface SweepPoint {
  readonly rank: number;
  readonly closedForm: Fidelity;
  readonly svd: Fidelity;
}

/** Latency of teacher and student at one batch size. */
export interface LatencyPoint {
  readonly batch: number;
  readonly teacher: Timing;
  readonly student: Timing;
  readonly speedup: number;
}

/** Everything measured for one teacher. */
export interface TeacherResult {
  readonly kind: TeacherKind;
  readonly description: string;
  readonly rank: number;
  readonly rankSource: 'flag' | 'default' | 'target-cosine';
  readonly teacher: { readonly params: number; readonly buildMs: number; readonly history: readonly number[] };
  readonly svd: MethodResult & { readonly spectrum: Float64Array; readonly floor: number; readonly method: SpectralSvd['method']; readonly ms: number };
  readonly closedForm: MethodResult & { readonly energies: Float64Array; readonly method: OutputBasis['method']; readonly ms: number };
  readonly student: MethodResult & { readonly init: RankConfig['init']; readonly history: DistillHistory; readonly trainMs: number; readonly compileMs: number };
  readonly sweep: readonly SweepPoint[];
  readonly targetCosine?: { readonly target: number; readonly rank: number; readonly cosine: number };
  readonly latency: readonly LatencyPoint[];
  readonly paramsStudent: number;
  readonly compression: number;
}

/** The whole run. */
export interface RankRunResult {
  readonly config: RankConfig;
  readonly data: DataInfo;
  readonly teachers: readonly TeacherResult[];
  readonly threads: number;
  readonly totalMs: number;
}

/** Runs the benchmark described by `config`. */
export async function runDistilRank(config: RankConfig, hooks: RankHooks = {}): Promise<RankRunResult> {
  const t0 = performance.now();
  const log = hooks.log ?? (() => undefined);
  const master = new Rng(config.seed);
  const dataRng = master.fork();
  const splitRng = master.fork();
  const latencyRng = master.fork();
  const streams = new Map(TEACHER_KINDS.map((k) => [k, master.fork()] as const));

  const { train, val, info } = loadData(config, dataRng, splitRng);
  const dim = train.dim;
  if (dim < 2) throw dataError(`embeddings have ${dim} feature(s); low-rank compression needs at least 2`);
  if (config.rank !== undefined) checkRank(config.rank, dim, dim, '--rank');
  log(`${info.realData ? 'real' : 'SYNTHETIC'} data: ${train.rows} training and ${val.rows} validation rows of ${dim} features (validation: ${info.validation})`);

  const stats = await inputStats(train);
  const latencyCache = new Map<string, Timing>();
  const results: TeacherResult[] = [];
  for (const kind of config.teachers) {
    const rng = streams.get(kind) as Rng;
    const result = await runTeacher(kind, config, { train, val, stats }, rng, latencyRng, latencyCache, hooks);
    results.push(result);
    hooks.onTeacher?.(result);
  }
  return { config, data: info, teachers: results, threads: runtimeOptions().threads, totalMs: performance.now() - t0 };
}

function loadData(config: RankConfig, dataRng: Rng, splitRng: Rng): { train: Embeddings; val: Embeddings; info: DataInfo } {
  if (config.train === undefined) {
    const s = syntheticEmbeddings(config.synthetic, { train: config.syntheticTrain, val: config.syntheticVal, dim: config.syntheticDim }, dataRng);
    return {
      train: s.train,
      val: s.val,
      info: {
        realData: false,
        train: { rows: s.train.rows, source: `synthetic (${config.synthetic})` },
        val: { rows: s.val.rows, source: `synthetic (${config.synthetic}), independent draws` },
        validation: 'synthetic',
        synthetic: s.description,
        dim: s.train.dim,
      },
    };
  }
  const tensor = config.tensor === undefined ? {} : { tensor: config.tensor };
  const full = readEmbeddings(config.train, { ...tensor, flag: '--train' });
  if (config.val !== undefined) {
    const val = readEmbeddings(config.val, { ...tensor, flag: '--val' });
    if (val.dim !== full.dim) {
      throw dataError(`--train ${config.train} has ${full.dim} features per row but --val ${config.val} has ${val.dim}; they must match`);
    }
    return {
      train: full,
      val,
      info: { realData: true, train: { rows: full.rows, source: config.train }, val: { rows: val.rows, source: config.val }, validation: 'file', dim: full.dim },
    };
  }
  const split = holdOutSplit(full, config.valFraction, splitRng);
  return {
    train: split.train,
    val: split.val,
    info: {
      realData: true,
      train: { rows: split.train.rows, source: `${config.train} (rows not held out)` },
      val: { rows: split.val.rows, source: `${config.train} (seeded hold-out of ${Math.round(config.valFraction * 100)}%)` },
      validation: 'split',
      valFraction: config.valFraction,
      dim: full.dim,
    },
  };
}

interface Inputs {
  readonly train: Embeddings;
  readonly val: Embeddings;
  readonly stats: InputStats;
}

async function runTeacher(
  kind: TeacherKind,
  config: RankConfig,
  inputs: Inputs,
  rng: Rng,
  latencyRng: Rng,
  latencyCache: Map<string, Timing>,
  hooks: RankHooks,
): Promise<TeacherResult> {
  const log = (s: string): void => hooks.log?.(`[${kind}] ${s}`);
  const { train, val, stats } = inputs;
  const buildRng = rng.fork();
  const distillRng = rng.fork();
  const basisRng = rng.fork();
  const svdRng = rng.fork();
  const dim = train.dim;

  log('building teacher');
  const bar = kind === 'task-trained' ? hooks.progress?.(`teacher ${kind}`, config.teacherSteps) : undefined;
  const teacher = await makeTeacher(kind, train, buildRng, {
    steps: config.teacherSteps,
    lr: config.teacherLr,
    batchSize: config.teacherBatchSize,
    noise: config.teacherNoise,
    onStep: (r: StepResult) => bar?.update(r.step, { loss: r.loss.toExponential(3) }),
  });
  bar?.stop();
  const yTrain = await mapRows(train.data, train.rows, dim, teacher.outFeatures, (x) => denseForward(teacher, x));
  const yVal = await mapRows(val.data, val.rows, dim, teacher.outFeatures, (x) => denseForward(teacher, x));
  const onVal = async (f: LowRankFactors): Promise<Fidelity> => fidelity(await predict(val, f), yVal, val.rows, f.outFeatures);
  const evaluate = async (f: LowRankFactors): Promise<{ val: Fidelity; train: Fidelity }> => ({
    val: await onVal(f),
    train: fidelity(await predict(train, f), yTrain, train.rows, f.outFeatures),
  });
  const valCosine = async (f: LowRankFactors): Promise<number> => (await onVal(f)).cosine;

  const maxRank = Math.min(teacher.inFeatures, teacher.outFeatures) - 1;
  const sweepRanks = [...new Set(config.sweep.filter((r) => r <= maxRank))].sort((a, b) => a - b);
  const solver = resolveSolver(config.solver, teacher.inFeatures, teacher.outFeatures);
  let k = Math.min(maxRank, Math.max(config.rank ?? DEFAULT_RANK, ...sweepRanks));

  // The two decompositions are independent (and, for the exact solver, run on worker threads): start both.
  log(`closed form (${solver}, basis of ${k}) and weight SVD (${solver === 'exact' ? 'gram' : 'randomized'})`);
  const w = f32Matrix(teacher.outFeatures, teacher.inFeatures, teacher.weight);
  const svdMethod = solver === 'exact' ? 'gram' : 'randomized';
  const timedSvd = async (r: number): Promise<{ svd: SpectralSvd; ms: number }> => {
    const t = performance.now();
    const svd = await truncatedSvd(w, { rank: r, method: svdMethod, rng: svdRng });
    return { svd, ms: performance.now() - t };
  };
  const timedBasis = async (size: number): Promise<{ basis: OutputBasis; ms: number }> => {
    const t = performance.now();
    const basis = await outputBasis(teacher, stats, size, solver, basisRng);
    return { basis, ms: performance.now() - t };
  };
  const svdPending = timedSvd(k);
  svdPending.catch(() => undefined); // awaited below; a failure of the other branch first must not leave it unhandled
  let { basis, ms: closedMs } = await timedBasis(k);

  let targetCosine: TeacherResult['targetCosine'];
  if (config.targetCosine !== undefined) {
    const target = config.targetCosine;
    if ((await valCosine(closedFormFactors(teacher, basis, stats.mean, k))) < target && k < maxRank) {
      log(`target cosine ${target} not reached at rank ${k}; computing the full basis`);
      k = maxRank;
      const full = await timedBasis(k);
      basis = full.basis;
      closedMs += full.ms;
    }
    const best = await valCosine(closedFormFactors(teacher, basis, stats.mean, k));
    if (best < target) {
      throw dataError(`--target-cosine ${target} is not reached by teacher '${kind}' at any rank below min(d_in, d_out) = ${maxRank + 1} (best closed-form validation cosine ${best.toFixed(6)} at rank ${k})`);
    }
    // Smallest rank reaching the target (binary search: the closed-form cosine grows with the rank).
    let lo = 1;
    let hi = k;
    let hiCos = best;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = await valCosine(closedFormFactors(teacher, basis, stats.mean, mid));
      if (c >= target) {
        hi = mid;
        hiCos = c;
      } else lo = mid + 1;
    }
    targetCosine = { target, rank: hi, cosine: hiCos };
    log(`smallest closed-form rank with validation cosine >= ${target}: ${hi} (${hiCos.toFixed(6)})`);
  }
  const rank = config.rank ?? targetCosine?.rank ?? DEFAULT_RANK;
  const rankSource: TeacherResult['rankSource'] = config.rank !== undefined ? 'flag' : targetCosine !== undefined ? 'target-cosine' : 'default';
  checkRank(rank, teacher.inFeatures, teacher.outFeatures, 'rank');
  if (rank * (teacher.inFeatures + teacher.outFeatures) >= teacher.inFeatures * teacher.outFeatures) {
    log(`warning: at rank ${rank} the factors hold more parameters than the dense ${teacher.outFeatures} x ${teacher.inFeatures} layer`);
  }
  let { svd, ms: svdMs } = await svdPending;
  if (svd.s.length < rank) ({ svd, ms: svdMs } = await timedSvd(rank));

  const svdF = svdFactors(svd, rank, teacher.bias);
  const cfF = closedFormFactors(teacher, basis, stats.mean, rank);
  const svdEval = await evaluate(svdF);
  const cfEval = await evaluate(cfF);

  log(`distilling (${config.steps} steps, init ${config.init})`);
  const sbar = hooks.progress?.(`student ${kind}`, config.steps);
  const distilled = await distill(config.init === 'svd' ? svdF : cfF, train, yTrain, {
    steps: config.steps,
    batchSize: config.batchSize,
    lr: config.lr,
    weightDecay: config.weightDecay,
    cosineWeight: config.cosineWeight,
    schedule: config.schedule,
    rng: distillRng,
    onStep: (r) => sbar?.update(r.step, { loss: r.loss.toExponential(3) }),
  });
  sbar?.stop();
  const studentEval = await evaluate(distilled.factors);

  const sweep: SweepPoint[] = [];
  for (const r of sweepRanks.filter((x) => x <= Math.min(k, svd.s.length))) {
    sweep.push({ rank: r, closedForm: await onVal(closedFormFactors(teacher, basis, stats.mean, r)), svd: await onVal(svdFactors(svd, r, teacher.bias)) });
  }

  log(`latency (${config.latencyRepeats} runs per batch size)`);
  const latency: LatencyPoint[] = [];
  const lo = { repeats: config.latencyRepeats, warmup: config.latencyWarmup, rng: latencyRng };
  for (const batch of config.latencyBatches) {
    const tKey = `dense ${teacher.inFeatures}x${teacher.outFeatures} b${batch}`;
    const sKey = `low-rank ${teacher.inFeatures}x${teacher.outFeatures} r${rank} b${batch}`;
    let tt = latencyCache.get(tKey);
    if (tt === undefined) latencyCache.set(tKey, (tt = await timeDense(teacher, batch, lo)));
    let st = latencyCache.get(sKey);
    if (st === undefined) latencyCache.set(sKey, (st = await timeLowRank(distilled.factors, batch, lo)));
    latency.push({ batch, teacher: tt, student: st, speedup: tt.medianMs / st.medianMs });
  }

  return {
    kind,
    description: teacher.description,
    rank,
    rankSource,
    teacher: { params: denseParameters(teacher), buildMs: teacher.buildMs, history: teacher.history },
    svd: { factors: svdF, ...svdEval, spectrum: svd.spectrum, floor: svd.floor, method: svd.method, ms: svdMs },
    closedForm: { factors: cfF, ...cfEval, energies: basis.energies, method: basis.method, ms: closedMs },
    student: { factors: distilled.factors, ...studentEval, init: config.init, history: distilled.history, trainMs: distilled.trainMs, compileMs: distilled.compileMs },
    sweep,
    ...(targetCosine === undefined ? {} : { targetCosine }),
    latency,
    paramsStudent: lowRankParameters(distilled.factors),
    compression: denseParameters(teacher) / lowRankParameters(distilled.factors),
  };
}

async function predict(x: Embeddings, f: LowRankFactors): Promise<Float32Array> {
  return mapRows(x.data, x.rows, x.dim, f.outFeatures, (t) => lowRankForward(f, t));
}
