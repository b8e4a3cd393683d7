import type { TopLevelSpec } from 'vega-lite';
import { groupedBarChart, lineChart, panelGrid } from '../report/charts.js';
import { scatterChart } from '../report/scatter-chart.js';
import type { ModelPerplexity } from './model-perplexity.js';
import type { NgramScore } from './ngram.js';
import type { ProbeRow } from './probe-models.js';
import type { TsneMaps } from './tsne-maps.js';

/**
 * The report figure: perplexity bars (models under pure masking, beside the n-gram floors), macro-F1
 * bars per task (full training set, every evaluation split), low-data curves (validation macro-F1
 * against training rows) and the t-SNE panels.
 */

/** What the figure draws. */
export interface ReportFigureInput {
  readonly perplexity: readonly ModelPerplexity[];
  readonly floors: readonly { readonly file: string; readonly scores: readonly NgramScore[] }[];
  readonly tasks: readonly { readonly name: string; readonly rows: readonly ProbeRow[] }[];
  readonly tsne: TsneMaps | null;
}

const rowName = (r: ProbeRow): string => (r.pooling === 'composition' ? 'composition' : `${r.model} · ${r.pooling}`);
const fileName = (p: string): string => p.split(/[/\\]/).pop() ?? p;

/** The whole figure as one vega-lite spec. */
export function reportFigureSpec(f: ReportFigureInput): TopLevelSpec {
  const panels: TopLevelSpec[] = [];
  const files = [...new Set([...f.perplexity.map((p) => p.file), ...f.floors.map((x) => x.file)])];
  if (files.length > 0) {
    const pure = f.perplexity.filter((p) => p.rule === 'pure');
    const cats = [...new Set([...pure.map((p) => p.model), ...f.floors.flatMap((x) => x.scores.map((s) => `floor: ${s.name.split(' (')[0] as string}`))])];
    const values = files.map((file) =>
      cats.map((c) => {
        const m = pure.find((p) => p.file === file && p.model === c);
        if (m !== undefined) return m.perplexity;
        const fl = f.floors.find((x) => x.file === file)?.scores.find((s) => `floor: ${s.name.split(' (')[0] as string}` === c);
        return fl?.perplexity ?? NaN;
      }),
    );
    panels.push(groupedBarChart({ title: 'Masked perplexity (pure masking) and n-gram floors', groups: files.map(fileName), categories: cats, values, yTitle: 'perplexity', width: 380 }));
  }
  for (const t of f.tasks) {
    const splits = t.rows[0]?.results[0]?.splits.map((s) => s.split) ?? [];
    const rows = t.rows.filter((r) => r.results.some((x) => x.trainSize === 'all'));
    if (rows.length > 0) {
      panels.push(
        groupedBarChart({
          title: `${t.name}: macro-F1 (full training set)`,
          groups: splits,
          categories: rows.map(rowName),
          values: splits.map((s) => rows.map((r) => r.results.find((x) => x.trainSize === 'all')?.splits.find((y) => y.split === s)?.metrics.macroF1 ?? NaN)),
          yDomain: [0, 1],
          yTitle: 'macro-F1',
          width: 380,
        }),
      );
    }
    const sel = splits[0] ?? 'valid';
    panels.push(
      lineChart({
        title: `${t.name}: low-data curve (${sel} macro-F1)`,
        xTitle: 'training sequences',
        yTitle: 'macro-F1',
        series: t.rows.map((r) => ({ name: rowName(r), x: r.results.map((x) => x.trainRows), y: r.results.map((x) => x.splits[0]?.metrics.macroF1 ?? NaN) })),
        points: true,
      }),
    );
  }
  if (f.tsne !== null) {
    const maps = f.tsne;
    const domain = [...new Set(maps.labels)].sort();
    maps.panels.forEach((p, i) => panels.push(scatterChart({ title: `${maps.method === 'tsne' ? 't-SNE' : 'UMAP'} ${p.model} (${p.pooling})`, points: p.points, labels: maps.labels, domain, legend: i === maps.panels.length - 1 })));
  }
  return panelGrid(panels, 2, 'protdistil eval report');
}
