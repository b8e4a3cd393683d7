import { markdownTable, type TableCell } from '../report/markdown-table.js';
import type { NgramScore } from './ngram.js';
import type { ProbeRow } from './probe-models.js';

/**
 * The evaluation tables as markdown, in the reference study's layout: per task and evaluation
 * split, model × accuracy / precision / recall / F1 (macro), one row per pooling and training
 * size; the low-data table (macro-F1 against training size); the n-gram floors.
 */

/** Splits reported by a probe run, in order. */
function splitNames(rows: readonly ProbeRow[]): string[] {
  return rows[0]?.results[0]?.splits.map((s) => s.split) ?? [];
}

/** One table per evaluation split: model, pooling, training rows, C, accuracy, macro P / R / F1. */
export function probeTables(task: string, rows: readonly ProbeRow[]): string {
  const out: string[] = [];
  for (const split of splitNames(rows)) {
    const body: TableCell[][] = [];
    for (const r of rows) {
      for (const res of r.results) {
        const s = res.splits.find((x) => x.split === split);
        if (s === undefined) continue;
        body.push([r.model, r.pooling, res.trainSize === 'all' ? `all (${res.trainRows})` : String(res.trainRows), String(res.C), s.metrics.accuracy, s.metrics.macroPrecision, s.metrics.macroRecall, s.metrics.macroF1]);
      }
    }
    out.push(`#### ${task}: ${split}\n\n${markdownTable(['model', 'pooling', 'train', 'C', 'accuracy', 'precision', 'recall', 'F1'], body, { digits: 3 })}`);
    const unseen = rows[0]?.results[0]?.splits.find((x) => x.split === split)?.unseen;
    if (unseen !== undefined && unseen.rows > 0) {
      out.push(`${unseen.rows} ${split} row(s) carry label(s) absent from training (${unseen.labels.join(', ')}); they are scored as errors.`);
    }
  }
  return out.join('\n\n');
}

/** The low-data table: macro-F1 on each split against the training size. */
export function lowDataTable(task: string, rows: readonly ProbeRow[]): string {
  const sizes = [...new Set(rows.flatMap((r) => r.results.map((x) => (x.trainSize === 'all' ? 'all' : String(x.trainSize)))))];
  const splits = splitNames(rows);
  const head = ['model', 'pooling', ...splits.flatMap((s) => sizes.map((z) => `${s} F1 @${z}`))];
  const body = rows.map((r) => [
    r.model,
    r.pooling,
    ...splits.flatMap((s) =>
      sizes.map((z) => {
        const res = r.results.find((x) => (x.trainSize === 'all' ? 'all' : String(x.trainSize)) === z);
        return res?.splits.find((x) => x.split === s)?.metrics.macroF1 ?? NaN;
      }),
    ),
  ]);
  return `#### ${task}: macro-F1 by training size\n\n${markdownTable(head, body, { digits: 3 })}`;
}

/** The n-gram floors of each evaluated file. */
export function ngramTable(floors: readonly { readonly file: string; readonly scores: readonly NgramScore[] }[]): string {
  const body: TableCell[][] = floors.flatMap((f) => f.scores.map((s) => [f.file, s.name, s.perplexity, s.nllNats, s.bitsPerResidue, s.scoredPositions]));
  return markdownTable(['file', 'floor (true neighbours, add-one)', 'perplexity', 'nats / residue', 'bits / residue', 'scored'], body, { digits: 4 });
}
