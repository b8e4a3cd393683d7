import { shapeError } from '../errors.js';

/**
 * Classification metrics with scikit-learn's conventions (`accuracy_score`,
 * `precision_recall_fscore_support(average=None | 'macro')`, `zero_division=0`): classes are the
 * sorted union of the true and predicted labels unless `labels` is given; a class never predicted
 * has precision 0, a class never true has recall 0, F1 is 0 where precision + recall is 0, and the
 * macro averages are plain means over the classes (F1 is the mean of per-class F1, not the F1 of
 * the means).
 */

/** Per-class numbers. */
export interface ClassMetrics {
  readonly label: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Number of true examples of the class. */
  readonly support: number;
  /** Number of predictions of the class. */
  readonly predicted: number;
}

/** Accuracy, macro precision / recall / F1 and the per-class table. */
export interface ClassificationMetrics {
  readonly n: number;
  readonly accuracy: number;
  readonly macroPrecision: number;
  readonly macroRecall: number;
  readonly macroF1: number;
  readonly perClass: readonly ClassMetrics[];
}

/** Metrics of predicted against true class ids (integers); `labels` fixes the class set and order. */
export function classificationMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, labels?: readonly number[]): ClassificationMetrics {
  const n = yTrue.length;
  if (yPred.length !== n) throw shapeError('classification metrics', `${n} true labels but ${yPred.length} predictions`);
  if (n === 0) throw shapeError('classification metrics', 'no examples to score');
  const classes = labels !== undefined ? [...labels] : [...new Set([...Array.from(yTrue), ...Array.from(yPred)])].sort((a, b) => a - b);
  const index = new Map(classes.map((c, i) => [c, i]));
  const tp = new Float64Array(classes.length);
  const support = new Float64Array(classes.length);
  const predicted = new Float64Array(classes.length);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const t = yTrue[i] as number;
    const p = yPred[i] as number;
    if (t === p) correct++;
    const ti = index.get(t);
    const pi = index.get(p);
    if (ti !== undefined) support[ti]! += 1;
    if (pi !== undefined) predicted[pi]! += 1;
    if (t === p && ti !== undefined) tp[ti]! += 1;
  }
  const perClass = classes.map((label, k) => {
    const precision = (predicted[k] as number) > 0 ? (tp[k] as number) / (predicted[k] as number) : 0;
    const recall = (support[k] as number) > 0 ? (tp[k] as number) / (support[k] as number) : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, precision, recall, f1, support: support[k] as number, predicted: predicted[k] as number };
  });
  const mean = (f: (c: ClassMetrics) => number): number => (perClass.length === 0 ? 0 : perClass.reduce((s, c) => s + f(c), 0) / perClass.length);
  return {
    n,
    accuracy: correct / n,
    macroPrecision: mean((c) => c.precision),
    macroRecall: mean((c) => c.recall),
    macroF1: mean((c) => c.f1),
    perClass,
  };
}

/** Row-wise argmax of a (rows, cols) score matrix; ties go to the first (lowest) column, as numpy's argmax. */
export function argmaxRows(scores: ArrayLike<number>, rows: number, cols: number): Int32Array {
  if (scores.length !== rows * cols) throw shapeError('argmax', `${scores.length} scores for ${rows} x ${cols}`);
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestV = scores[r * cols] as number;
    for (let c = 1; c < cols; c++) {
      const v = scores[r * cols + c] as number;
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    out[r] = best;
  }
  return out;
}
