import { configError, dataError } from '../errors.js';
import { f32Matrix } from '../linalg/engine.js';
import { truncatedSvd, type SpectralSvd } from '../linalg/truncated-svd.js';
import { runtimeOptions } from '../runtime/program.js';
import { Rng } from '../tensor/random.js';
import type { StepResult } from '../train/train-step.js';
import { closedFormFactors, inputStats, outputBasis, type InputStats, type OutputBasis } from './closed-form.js';
import { builtInTeachers, DEFAULT_RANK, EXPERIMENT_NAMES, resolveSolver, TEACHER_KINDS, type RankConfig, type TeacherKind } from './config.js';
import { denseForward, denseParameters, mapRows, type DenseLayer } from './dense-layer.js';
import { distill, type DistillHistory } from './distill.js';
import { holdOutSplit, readEmbeddings, type Embeddings } from './embeddings.js';
import { layerFilesIn, readLayerFile, type LayerFile } from './layer-file.js';
import { timeDense, timeLowRank, type Timing } from './latency.js';
import { checkRank, lowRankForward, lowRankParameters, svdFactors, type LowRankFactors } from './low-rank-linear.js';
import { fidelity, type Fidelity } from './metrics.js';
import { HEADLINE_BATCH } from './summary.js';
import { syntheticEmbeddings } from './synthetic.js';
import { makeTeacher } from './teachers.js';

/**
 * The Distil-Rank run: load the user's trained layers (if any) and the embeddings (or synthesise
 * them), then for every teacher — built-in or trained layer, of any shape — compare three
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

/** The smallest closed-form rank reaching a held-out cosine, and what it costs and saves. */
export interface CosineTargetPoint {
  readonly target: number;
  /** Null when no rank below min(in, out) reaches the target. */
  readonly rank: number | null;
  /** Closed-form validation cosine at `rank` (or at the largest rank tried when not reached). */
  readonly cosine: number;
  readonly params: number | null;
  readonly compression: number | null;
  /** Measured at the headline batch size: dense over low-rank latency. */
  readonly speedup: number | null;
  readonly studentMs: number | null;
  readonly teacherMs: number;
  readonly batch: number;
}

/** Held-out cosines that trained layers are reported at (smallest rank reaching each). */
export const LAYER_COSINE_TARGETS = [0.99, 0.999, 0.9999] as const;

/** Everything measured for one teacher. */
export interface TeacherResult {
  /** The CLI id: a built-in teacher kind, or a layer file's stem. */
  readonly id: string;
  /** The experiment name in the summary JSON and figure (`Random`, `Task-Trained`, `Spectral`, or the file stem). */
  readonly experiment: string;
  readonly source: 'built-in' | 'file';
  /** The layer file, for trained layers. */
  readonly file?: { readonly path: string; readonly key?: string; readonly hasBias: boolean };
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly description: string;
  readonly rank: number;
  readonly rankSource: 'flag' | 'default' | 'target-cosine';
  readonly teacher: { readonly params: number; readonly buildMs: number; readonly history: readonly number[] };
  readonly svd: MethodResult & { readonly spectrum: Float64Array; readonly floor: number; readonly method: SpectralSvd['method']; readonly ms: number };
  readonly closedForm: MethodResult & { readonly energies: Float64Array; readonly method: OutputBasis['method']; readonly ms: number };
  readonly student: MethodResult & { readonly init: RankConfig['init']; readonly history: DistillHistory; readonly trainMs: number; readonly compileMs: number };
  readonly sweep: readonly SweepPoint[];
  readonly targetCosine?: { readonly target: number; readonly rank: number; readonly cosine: number };
  /** Trained layers: the smallest ranks reaching LAYER_COSINE_TARGETS on the held-out rows. */
  readonly cosineTargets?: readonly CosineTargetPoint[];
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

  // Every input is read and checked before any numeric work.
  const layers = readLayers(config);
  const { train, val, info } = loadData(config, dataRng, splitRng);
  const dim = train.dim;
  if (dim < 2) throw dataError(`embeddings have ${dim} feature(s); low-rank compression needs at least 2`);
  const kinds = builtInTeachers(config);
  if (config.rank !== undefined && kinds.length > 0) checkRank(config.rank, dim, dim, '--rank');
  for (const l of layers) {
    if (l.inFeatures !== dim) {
      throw dataError(`--layer ${l.path}: the layer takes ${l.inFeatures} input features (weight ${l.outFeatures} x ${l.inFeatures}) but the embeddings have ${dim} per row; they must match`);
    }
    if (config.rank !== undefined) checkRank(config.rank, l.inFeatures, l.outFeatures, `--rank (layer '${l.name}')`);
  }
  log(`${info.realData ? 'real' : 'SYNTHETIC'} data: ${train.rows} training and ${val.rows} validation rows of ${dim} features (validation: ${info.validation})`);
  for (const l of layers) log(`layer '${l.name}': ${l.path}${l.key === undefined ? '' : ` (key '${l.key}')`}, ${l.outFeatures} x ${l.inFeatures}${l.hasBias ? ' with bias' : ', no bias'}`);

  const stats = await inputStats(train);
  const latencyCache = new Map<string, Timing>();
  const results: TeacherResult[] = [];
  const jobs: { source: TeacherSource; rng: Rng }[] = [
    ...kinds.map((kind) => ({ source: { kind } as TeacherSource, rng: streams.get(kind) as Rng })),
    ...layers.map((layer) => ({ source: { layer } as TeacherSource, rng: master.fork() })),
  ];
  for (const { source, rng } of jobs) {
    const result = await runTeacher(source, config, { train, val, stats }, rng, latencyRng, latencyCache, hooks);
    results.push(result);
    hooks.onTeacher?.(result);
  }
  return { config, data: info, teachers: results, threads: runtimeOptions().threads, totalMs: performance.now() - t0 };
}

/** Reads every `--layer` and `--layers-dir` file; names must be unique and distinct from the built-in teachers. */
function readLayers(config: RankConfig): LayerFile[] {
  const paths = [...config.layers, ...(config.layersDir === undefined ? [] : layerFilesIn(config.layersDir))];
  const key = config.layerKey === undefined ? {} : { key: config.layerKey };
  if (paths.length === 0 && config.layerKey !== undefined) throw configError('--layer-key names a tensor prefix inside layer files, but no --layer or --layers-dir was given');
  const layers = paths.map((p) => readLayerFile(p, { ...key, flag: '--layer' }));
  const reserved = new Map<string, string>(TEACHER_KINDS.flatMap((k) => [[k, `the built-in teacher '${k}'`], [EXPERIMENT_NAMES[k].toLowerCase(), `the built-in teacher '${k}'`]] as [string, string][]));
  for (const l of layers) {
    const clash = reserved.get(l.name.toLowerCase());
    if (clash !== undefined) throw dataError(`--layer ${l.path}: its name '${l.name}' (the file stem) is taken by ${clash}; rename the file`);
    reserved.set(l.name.toLowerCase(), `--layer ${l.path}`);
  }
  return layers;
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

/** A built-in teacher to build, or a trained layer read from a file. */
type TeacherSource = { readonly kind: TeacherKind } | { readonly layer: LayerFile };

/** What every teacher is, once built or read. */
interface PreparedTeacher extends DenseLayer {
  readonly history: readonly number[];
  readonly buildMs: number;
  readonly description: string;
}

async function runTeacher(
  source: TeacherSource,
  config: RankConfig,
  inputs: Inputs,
  rng: Rng,
  latencyRng: Rng,
  latencyCache: Map<string, Timing>,
  hooks: RankHooks,
): Promise<TeacherResult> {
  const id = 'kind' in source ? source.kind : source.layer.name;
  const log = (s: string): void => hooks.log?.(`[${id}] ${s}`);
  const { train, val, stats } = inputs;
  const buildRng = rng.fork();
  const distillRng = rng.fork();
  const basisRng = rng.fork();
  const svdRng = rng.fork();
  const dim = train.dim;

  let teacher: PreparedTeacher;
  if ('kind' in source) {
    log('building teacher');
    const bar = source.kind === 'task-trained' ? hooks.progress?.(`teacher ${id}`, config.teacherSteps) : undefined;
    teacher = await makeTeacher(source.kind, train, buildRng, {
      steps: config.teacherSteps,
      lr: config.teacherLr,
      batchSize: config.teacherBatchSize,
      noise: config.teacherNoise,
      onStep: (r: StepResult) => bar?.update(r.step, { loss: r.loss.toExponential(3) }),
    });
    bar?.stop();
  } else {
    const l = source.layer;
    const what = `${l.outFeatures} x ${l.inFeatures}${l.hasBias ? '' : ', no bias'}`;
    teacher = { ...l, history: [], buildMs: 0, description: `trained layer from ${l.path}${l.key === undefined ? '' : ` (key '${l.key}')`} (${what})` };
  }
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
  // Trained layers are also reported at the smallest ranks reaching LAYER_COSINE_TARGETS.
  const targets = [...(config.targetCosine === undefined ? [] : [config.targetCosine]), ...('layer' in source ? LAYER_COSINE_TARGETS : [])];

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

  if (targets.length > 0 && k < maxRank && (await valCosine(closedFormFactors(teacher, basis, stats.mean, k))) < Math.max(...targets)) {
    log(`cosine ${Math.max(...targets)} not reached at rank ${k}; computing the full basis`);
    k = maxRank;
    const full = await timedBasis(k);
    basis = full.basis;
    closedMs += full.ms;
  }
  const best = targets.length > 0 ? await valCosine(closedFormFactors(teacher, basis, stats.mean, k)) : NaN;
  /** Smallest rank whose closed-form validation cosine reaches `target` (binary search: the cosine grows with the rank), or null. */
  const smallestRank = async (target: number): Promise<{ rank: number; cosine: number } | null> => {
    if (!(best >= target)) return null;
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
    return { rank: hi, cosine: hiCos };
  };
  let targetCosine: TeacherResult['targetCosine'];
  if (config.targetCosine !== undefined) {
    const target = config.targetCosine;
    const found = await smallestRank(target);
    if (found === null) {
      throw dataError(`--target-cosine ${target} is not reached by teacher '${id}' at any rank below min(d_in, d_out) = ${maxRank + 1} (best closed-form validation cosine ${best.toFixed(6)} at rank ${k})`);
    }
    targetCosine = { target, ...found };
    log(`smallest closed-form rank with validation cosine >= ${target}: ${found.rank} (${found.cosine.toFixed(6)})`);
  }
  const ladder: { target: number; found: { rank: number; cosine: number } | null }[] = [];
  if ('layer' in source) for (const target of LAYER_COSINE_TARGETS) ladder.push({ target, found: await smallestRank(target) });
  // The default rank is capped for narrow layers (a 1280 -> 20 head has ranks 1..19).
  const rank = config.rank ?? targetCosine?.rank ?? Math.min(DEFAULT_RANK, maxRank);
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
  const sbar = hooks.progress?.(`student ${id}`, config.steps);
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
  const cosineTargets: CosineTargetPoint[] = [];
  const dense = latency.find((l) => l.batch === HEADLINE_BATCH)?.teacher as Timing;
  for (const { target, found } of ladder) {
    if (found === null) {
      cosineTargets.push({ target, rank: null, cosine: best, params: null, compression: null, speedup: null, studentMs: null, teacherMs: dense.medianMs, batch: HEADLINE_BATCH });
      continue;
    }
    const f = closedFormFactors(teacher, basis, stats.mean, found.rank);
    const sKey = `low-rank ${teacher.inFeatures}x${teacher.outFeatures} r${found.rank} b${HEADLINE_BATCH}`;
    let st = latencyCache.get(sKey);
    if (st === undefined) latencyCache.set(sKey, (st = await timeLowRank(f, HEADLINE_BATCH, lo)));
    const params = lowRankParameters(f);
    cosineTargets.push({
      target,
      rank: found.rank,
      cosine: found.cosine,
      params,
      compression: denseParameters(teacher) / params,
      speedup: dense.medianMs / st.medianMs,
      studentMs: st.medianMs,
      teacherMs: dense.medianMs,
      batch: HEADLINE_BATCH,
    });
  }

  return {
    id,
    experiment: 'kind' in source ? EXPERIMENT_NAMES[source.kind] : source.layer.name,
    source: 'kind' in source ? 'built-in' : 'file',
    ...('layer' in source ? { file: { path: source.layer.path, ...(source.layer.key === undefined ? {} : { key: source.layer.key }), hasBias: source.layer.hasBias } } : {}),
    inFeatures: teacher.inFeatures,
    outFeatures: teacher.outFeatures,
    description: teacher.description,
    rank,
    rankSource,
    teacher: { params: denseParameters(teacher), buildMs: teacher.buildMs, history: teacher.history },
    svd: { factors: svdF, ...svdEval, spectrum: svd.spectrum, floor: svd.floor, method: svd.method, ms: svdMs },
    closedForm: { factors: cfF, ...cfEval, energies: basis.energies, method: basis.method, ms: closedMs },
    student: { factors: distilled.factors, ...studentEval, init: config.init, history: distilled.history, trainMs: distilled.trainMs, compileMs: distilled.compileMs },
    sweep,
    ...(targetCosine === undefined ? {} : { targetCosine }),
    ...(ladder.length === 0 ? {} : { cosineTargets }),
    latency,
    paramsStudent: lowRankParameters(distilled.factors),
    compression: denseParameters(teacher) / lowRankParameters(distilled.factors),
  };
}

async function predict(x: Embeddings, f: LowRankFactors): Promise<Float32Array> {
  return mapRows(x.data, x.rows, x.dim, f.outFeatures, (t) => lowRankForward(f, t));
}
