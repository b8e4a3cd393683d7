import { configError, dataError } from '../errors.js';
import { Rng } from '../tensor/random.js';
import { decisionFunction, fitLogisticRegression, LogisticObjective, type LogisticModel } from './logistic-regression.js';
import { argmaxRows, classificationMetrics, type ClassificationMetrics } from './metrics.js';
import { applyStandardizer, fitStandardizer } from './standardize.js';

/**
 * A linear probe: features standardised on the training rows, a multinomial L2 logistic
 * regression (scikit-learn's `C`) fitted at every C of a grid, the C with the best macro-F1 on the
 * first evaluation split (the validation split) kept, and accuracy / macro precision / recall / F1
 * (plus per-class numbers) reported on every evaluation split. Training sizes below the full set
 * are seeded stratified subsets. Labels seen only in an evaluation split are counted, reported and
 * scored as errors (they join the class set as scikit-learn's metrics do), never a crash.
 */

/** The default C grid (scikit-learn's `C`; at least 0.01, 0.1, 1, 10 as the reference study). */
export const DEFAULT_C_GRID: readonly number[] = Object.freeze([0.01, 0.1, 1, 10]);

/** A training size: a number of sequences or the whole training split. */
export type TrainSize = number | 'all';

/** Features and labels of one split. */
export interface ProbeSplit {
  readonly name: string;
  /** (rows, dim) row-major. */
  readonly x: Float32Array;
  readonly labels: readonly string[];
}

/** Options of {@link runProbe}. */
export interface ProbeOptions {
  readonly trainSizes: readonly TrainSize[];
  readonly grid?: readonly number[];
  readonly seed?: number;
  readonly maxIter?: number;
  /** Called after each fitted C. */
  readonly onFit?: (done: number, total: number) => void;
}

/** Metrics of one split at the chosen C. */
export interface SplitResult {
  readonly split: string;
  readonly metrics: Omit<ClassificationMetrics, 'perClass'>;
  readonly perClass: readonly { readonly label: string; readonly precision: number; readonly recall: number; readonly f1: number; readonly support: number }[];
  /** Rows whose label the classifier never saw in training (scored as errors), and those labels. */
  readonly unseen: { readonly rows: number; readonly labels: readonly string[] };
}

/** One training size. */
export interface ProbeResult {
  readonly trainSize: TrainSize;
  readonly trainRows: number;
  readonly classes: readonly string[];
  /** The chosen C and the selection split's macro-F1 / accuracy at every C. */
  readonly C: number;
  readonly grid: readonly { readonly C: number; readonly macroF1: number; readonly accuracy: number; readonly iterations: number; readonly reason: string }[];
  readonly splits: readonly SplitResult[];
}

/**
 * A seeded stratified subset of `size` rows (indices, ascending): rows are shuffled, then taken
 * in order of their rank within their class relative to the class size, so every class keeps its
 * share (and appears once `size` reaches the number of classes, classes permitting).
 */
export function stratifiedSubset(labels: readonly string[], size: number, seed: number): number[] {
  if (size >= labels.length) return labels.map((_, i) => i);
  const rng = new Rng(seed);
  const order = labels.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const count = new Map<string, number>();
  for (const l of labels) count.set(l, (count.get(l) ?? 0) + 1);
  const rank = new Map<string, number>();
  const keyed = order.map((i, pos) => {
    const l = labels[i] as string;
    const r = rank.get(l) ?? 0;
    rank.set(l, r + 1);
    return { i, key: (r + 0.5) / (count.get(l) as number), pos };
  });
  keyed.sort((a, b) => a.key - b.key || a.pos - b.pos);
  return keyed.slice(0, size).map((k) => k.i).sort((a, b) => a - b);
}

function gatherRows(x: Float32Array, dim: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, k) => out.set(x.subarray(r * dim, (r + 1) * dim), k * dim));
  return out;
}

/** Scores a fitted model on one split. */
async function scoreSplit(model: LogisticModel, classes: readonly string[], split: ProbeSplit, xs: Float32Array): Promise<SplitResult> {
  const index = new Map(classes.map((c, i) => [c, i]));
  const unseen = [...new Set(split.labels.filter((l) => !index.has(l)))].sort();
  unseen.forEach((l, j) => index.set(l, classes.length + j));
  const yTrue = split.labels.map((l) => index.get(l) as number);
  const pred = argmaxRows(await decisionFunction(model, xs), split.labels.length, classes.length);
  const m = classificationMetrics(yTrue, pred);
  const names = [...classes, ...unseen];
  const { perClass, ...metrics } = m;
  return {
    split: split.name,
    metrics,
    perClass: perClass.map((c) => ({ label: names[c.label] as string, precision: c.precision, recall: c.recall, f1: c.f1, support: c.support })),
    unseen: { rows: split.labels.filter((l) => unseen.includes(l)).length, labels: unseen },
  };
}

/** Runs the probe for every training size; `evals[0]` is the split that chooses C. */
export async function runProbe(dim: number, train: ProbeSplit, evals: readonly ProbeSplit[], o: ProbeOptions): Promise<ProbeResult[]> {
  const grid = [...(o.grid ?? DEFAULT_C_GRID)].sort((a, b) => a - b);
  if (grid.length === 0 || grid.some((c) => !(c > 0 && Number.isFinite(c)))) throw configError(`C grid must hold positive numbers, got ${(o.grid ?? []).join(', ')}`);
  if (evals.length === 0) throw configError('probe: needs a validation split to choose C');
  for (const s of [train, ...evals]) {
    if (s.x.length !== s.labels.length * dim) throw dataError(`probe: split '${s.name}' has ${s.x.length} feature values for ${s.labels.length} rows of ${dim}`);
    if (s.labels.length === 0) throw dataError(`probe: split '${s.name}' is empty`);
  }
  const total = o.trainSizes.length * grid.length;
  let done = 0;
  const results: ProbeResult[] = [];
  for (const size of o.trainSizes) {
    if (size !== 'all' && !(Number.isInteger(size) && size >= 2)) throw configError(`train size must be 'all' or an integer >= 2, got ${size}`);
    const rows = size === 'all' ? train.labels.map((_, i) => i) : stratifiedSubset(train.labels, size, o.seed ?? 0);
    const labels = rows.map((r) => train.labels[r] as string);
    const classes = [...new Set(labels)].sort();
    if (classes.length < 2) throw dataError(`probe: the ${rows.length} training row(s) hold a single class (${classes[0]}); a classifier needs two`);
    const index = new Map(classes.map((c, i) => [c, i]));
    const xTrain = gatherRows(train.x, dim, rows);
    const st = fitStandardizer(xTrain, dim);
    const obj = await LogisticObjective.create(applyStandardizer(st, xTrain), Int32Array.from(labels.map((l) => index.get(l) as number)), dim, classes.length);
    const xEval = evals.map((s) => applyStandardizer(st, s.x));
    const selection = evals[0] as ProbeSplit;
    let best: { model: LogisticModel; f1: number } | null = null;
    let prev: LogisticModel | undefined;
    const gridOut: ProbeResult['grid'][number][] = [];
    for (const C of grid) {
      const model = await fitLogisticRegression(obj, { C, ...(prev === undefined ? {} : { init: prev }), ...(o.maxIter === undefined ? {} : { maxIter: o.maxIter }) });
      prev = model;
      const s = await scoreSplit(model, classes, selection, xEval[0] as Float32Array);
      gridOut.push({ C, macroF1: s.metrics.macroF1, accuracy: s.metrics.accuracy, iterations: model.optimizer.iterations, reason: model.optimizer.reason });
      if (best === null || s.metrics.macroF1 > best.f1) best = { model, f1: s.metrics.macroF1 };
      o.onFit?.(++done, total);
    }
    const chosen = (best as { model: LogisticModel }).model;
    const splits: SplitResult[] = [];
    for (let k = 0; k < evals.length; k++) splits.push(await scoreSplit(chosen, classes, evals[k] as ProbeSplit, xEval[k] as Float32Array));
    results.push({ trainSize: size, trainRows: rows.length, classes, C: chosen.C, grid: gridOut, splits });
  }
  return results;
}
