import type { TopLevelSpec } from 'vega-lite';
import { groupedBarChart, lineChart, panelGrid, spectrumChart, type LineSeries } from '../report/charts.js';
import { consoleTable, formatNumber, markdownTable, type TableCell } from '../report/markdown-table.js';
import { renderVegaLite, svgToPng } from '../report/render.js';
import { cosineImprovement, mseReduction } from './metrics.js';
import type { RankRunResult, TeacherResult } from './pipeline.js';
import { dataLabel, headline, HEADLINE_BATCH } from './summary.js';

/**
 * Human-facing output of a run: per-teacher and comparison tables (console and Markdown), and the
 * final figure (Vega-Lite panels rendered to SVG and PNG with the bundled font).
 */

const METHOD_HEADERS = ['method', 'rank', 'params', 'val cosine', 'val rel MSE', 'val MSE', 'train MSE'];
const METHOD_ALIGN = ['left', 'right', 'right', 'right', 'right', 'right', 'right'] as const;

function methodRows(t: TeacherResult): TableCell[][] {
  return [
    ['teacher (dense)', '-', count(t.teacher.params), 1, 0, 0, 0],
    ['weight SVD', t.rank, count(t.paramsStudent), t.svd.val.cosine, t.svd.val.relMse, t.svd.val.mse, t.svd.train.mse],
    ['closed form (optimum)', t.rank, count(t.paramsStudent), t.closedForm.val.cosine, t.closedForm.val.relMse, t.closedForm.val.mse, t.closedForm.train.mse],
    ['distilled student', t.rank, count(t.paramsStudent), t.student.val.cosine, t.student.val.relMse, t.student.val.mse, t.student.train.mse],
  ];
}

const LATENCY_HEADERS = ['batch', 'teacher ms', 'student ms', 'speedup'];

function latencyRows(t: TeacherResult): TableCell[][] {
  return t.latency.map((l) => [l.batch, l.teacher.medianMs, l.student.medianMs, `${l.speedup.toFixed(2)}x`]);
}

const COMPARISON_HEADERS = ['teacher', 'rank', 'SVD cosine', 'closed-form cosine', 'distilled cosine', 'MSE reduction', `speedup @${HEADLINE_BATCH}`, 'params', 'compression'];
const COMPARISON_ALIGN = ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'] as const;

function comparisonRows(r: RankRunResult): TableCell[][] {
  return r.teachers.map((t) => [
    t.id,
    t.rank,
    t.svd.val.cosine,
    t.closedForm.val.cosine,
    t.student.val.cosine,
    `${mseReduction(t.student.val, t.svd.val).toFixed(1)}%`,
    `${headline(t).speedup.toFixed(1)}x`,
    `${millions(t.teacher.params)} -> ${millions(t.paramsStudent)}`,
    `${t.compression.toFixed(1)}x`,
  ]);
}

/** Integers with thousands separators (parameter counts). */
function count(n: number): string {
  return n.toLocaleString('en-US');
}

function millions(n: number): string {
  return `${(n / 1e6).toFixed(n >= 1e6 ? 2 : 3)}M`;
}

/** Lines on the smallest ranks reaching the held-out cosine targets (trained layers), or none. */
function cosineTargetLines(t: TeacherResult): string[] {
  if (t.cosineTargets === undefined) return [];
  return t.cosineTargets.map((p) =>
    p.rank === null
      ? `   held-out cosine ${p.target}: not reached below rank ${Math.min(t.inFeatures, t.outFeatures)} (closed form reaches ${formatNumber(p.cosine, 6)} at the largest rank)`
      : `   held-out cosine ${p.target}: rank ${p.rank} (closed form ${formatNumber(p.cosine, 6)}), ${count(p.params ?? 0)} parameters (${(p.compression ?? NaN).toFixed(1)}x fewer), ` +
        `${(p.speedup ?? NaN).toFixed(2)}x faster at batch ${p.batch} (${formatNumber(p.studentMs ?? NaN, 4)} vs ${formatNumber(p.teacherMs, 4)} ms)`,
  );
}

/** Console text for one teacher (printed as soon as it is done). */
export function teacherConsole(t: TeacherResult, r: Pick<RankRunResult, 'threads'> & { readonly repeats: number }): string {
  const lines = [
    '',
    `== teacher '${t.id}' (${t.outFeatures} x ${t.inFeatures}): ${t.description}`,
    ...(t.cosineTargets === undefined ? [] : ['   smallest rank reaching each cosine on the held-out rows (exact closed form; speed measured on ONNX Runtime):', ...cosineTargetLines(t)]),
    `   rank ${t.rank} (${t.rankSource})${t.targetCosine === undefined ? '' : `, smallest closed-form rank with cosine >= ${t.targetCosine.target}: ${t.targetCosine.rank}`}`,
    consoleTable(METHOD_HEADERS, methodRows(t), { digits: 6, align: METHOD_ALIGN }),
    `cosine improvement over SVD: distilled ${formatNumber(cosineImprovement(t.student.val, t.svd.val), 4)}, closed form ${formatNumber(cosineImprovement(t.closedForm.val, t.svd.val), 4)}; ` +
      `MSE reduction: distilled ${mseReduction(t.student.val, t.svd.val).toFixed(2)}%, closed form ${mseReduction(t.closedForm.val, t.svd.val).toFixed(2)}%`,
    `distilled student: ${t.student.history.loss.length} steps in ${(t.student.trainMs / 1000).toFixed(1)} s, final loss ${formatNumber(t.student.history.loss.at(-1) ?? NaN, 4)}; ` +
      `excess val MSE over the closed form ${formatNumber(t.student.val.mse - t.closedForm.val.mse, 3)}`,
    `latency on ONNX Runtime (median of ${r.repeats} runs, ${r.threads} thread${r.threads === 1 ? '' : 's'}):`,
    consoleTable(LATENCY_HEADERS, latencyRows(t), { digits: 4, align: ['right', 'right', 'right', 'right'] }),
  ];
  return lines.join('\n');
}

/** The final comparison table for the console. */
export function comparisonConsole(r: RankRunResult): string {
  return [``, `== Distil-Rank summary: ${dataLabel(r)}`, consoleTable(COMPARISON_HEADERS, comparisonRows(r), { digits: 4, align: COMPARISON_ALIGN })].join('\n');
}

/** `distil_rank_report.md`. */
export function markdownReport(r: RankRunResult): string {
  const parts = [
    '# Distil-Rank report',
    '',
    `Data: **${dataLabel(r)}** — ${r.data.train.rows} training rows (${r.data.train.source}), ${r.data.val.rows} validation rows (${r.data.val.source}), ${r.data.dim} features.`,
    '',
    'Fidelity is measured on the validation inputs against the teacher outputs; `rel MSE` = MSE / mean(teacher output²).',
    '',
    '## Comparison',
    '',
    markdownTable(COMPARISON_HEADERS, comparisonRows(r), { digits: 4, align: COMPARISON_ALIGN }),
  ];
  for (const t of r.teachers) {
    parts.push('', `## Teacher \`${t.id}\` (${t.experiment}, ${t.outFeatures} x ${t.inFeatures})`, '', t.description, '');
    if (t.cosineTargets !== undefined) {
      parts.push(`Smallest rank reaching each held-out cosine (exact closed form; latency at batch ${HEADLINE_BATCH}):`, '', markdownTable(
        ['target cosine', 'rank', 'closed-form cosine', 'params', 'compression', 'speedup'],
        t.cosineTargets.map((p) => [p.target, p.rank ?? 'not reached', p.cosine, p.params === null ? '-' : count(p.params), p.compression === null ? '-' : `${p.compression.toFixed(1)}x`, p.speedup === null ? '-' : `${p.speedup.toFixed(2)}x`]),
        { digits: 6 },
      ), '');
    }
    parts.push(markdownTable(METHOD_HEADERS, methodRows(t), { digits: 6, align: METHOD_ALIGN }), '');
    parts.push(`Latency on ONNX Runtime (median of ${r.config.latencyRepeats} runs, ${r.threads} threads):`, '', markdownTable(LATENCY_HEADERS, latencyRows(t), { digits: 4, align: ['right', 'right', 'right', 'right'] }));
    if (t.sweep.length > 0) {
      parts.push('', 'Rank sweep (validation):', '', markdownTable(
        ['rank', 'closed-form cosine', 'closed-form rel MSE', 'SVD cosine', 'SVD rel MSE'],
        t.sweep.map((p) => [p.rank, p.closedForm.cosine, p.closedForm.relMse, p.svd.cosine, p.svd.relMse]),
        { digits: 6 },
      ));
    }
  }
  return `${parts.join('\n')}\n`;
}

/** At most this many points per training curve in the figure. */
const MAX_CURVE_POINTS = 500;

/** The Vega-Lite figure: cosine bars beside 1 − cosine (log), loss curves, spectra and the rank sweep. */
export function reportSpec(r: RankRunResult): TopLevelSpec {
  const teachers = r.teachers;
  const methods = ['weight SVD', 'closed form', 'distilled'];
  const cosines = (t: TeacherResult): number[] => [t.svd.val.cosine, t.closedForm.val.cosine, t.student.val.cosine];
  const bars = groupedBarChart({
    title: 'Validation cosine to the teacher',
    groups: teachers.map((t) => t.experiment),
    categories: methods,
    values: teachers.map(cosines),
    yDomain: [0, 1],
    yTitle: 'mean cosine',
  });
  // Near 1 the bars cannot show the closed-form vs distilled difference; 1 − cosine on a log axis does.
  const gaps = groupedBarChart({
    title: 'Validation 1 − cosine (log scale)',
    groups: teachers.map((t) => t.experiment),
    categories: methods,
    values: teachers.map((t) => cosines(t).map((c) => 1 - c)),
    logY: true,
    yTitle: '1 − mean cosine',
  });
  const ranks = new Set(teachers.map((t) => t.rank));
  const spectra = spectrumChart({
    title: 'Teacher weight spectra (normalised)',
    spectra: teachers.filter((t) => (t.svd.spectrum[0] ?? 0) > 0).map((t) => ({ name: t.experiment, values: Array.from(t.svd.spectrum.subarray(0, 200)) })),
    ...(ranks.size === 1 ? { cutoff: [...ranks][0] as number } : {}),
  });
  // Colour is the teacher (as in every other panel), dash and point shape the method.
  const sweepSeries = (pick: (p: TeacherResult['sweep'][number]) => [number, number]): LineSeries[] =>
    teachers.flatMap((t) => [
      { name: `${t.experiment} closed form`, color: t.experiment, style: 'closed form', x: t.sweep.map((p) => p.rank), y: t.sweep.map((p) => pick(p)[0]) },
      { name: `${t.experiment} weight SVD`, color: t.experiment, style: 'weight SVD', x: t.sweep.map((p) => p.rank), y: t.sweep.map((p) => pick(p)[1]) },
    ]);
  const panels: TopLevelSpec[] = [
    bars,
    gaps,
    lineChart({ title: 'Distillation loss (MSE + 0.1·(1 − cos))', xTitle: 'step', yTitle: 'loss', series: teachers.map((t) => thin(t.experiment, t.student.history.loss)), logY: true }),
    spectra,
  ];
  if (teachers.some((t) => t.sweep.length > 0)) {
    panels.push(
      lineChart({ title: 'Rank sweep: validation 1 − cosine', xTitle: 'rank', yTitle: '1 − mean cosine', series: sweepSeries((p) => [1 - p.closedForm.cosine, 1 - p.svd.cosine]), logY: true, points: true }),
      lineChart({ title: 'Rank sweep: validation relative MSE', xTitle: 'rank', yTitle: 'rel MSE', series: sweepSeries((p) => [p.closedForm.relMse, p.svd.relMse]), logY: true, points: true }),
    );
  }
  const rankText = ranks.size === 1 ? `rank ${[...ranks][0]}` : 'rank chosen per teacher';
  return panelGrid(panels, 2, `Distil-Rank, ${rankText} — ${dataLabel(r)}`);
}

/** Renders the figure to SVG text and PNG bytes. */
export async function renderReport(r: RankRunResult): Promise<{ svg: string; png: Uint8Array }> {
  const svg = await renderVegaLite(reportSpec(r));
  return { svg, png: svgToPng(svg, { scale: 2 }) };
}

function thin(name: string, ys: readonly number[]): LineSeries {
  const stride = Math.max(1, Math.ceil(ys.length / MAX_CURVE_POINTS));
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < ys.length; i += stride) {
    x.push(i + 1);
    y.push(ys[i] as number);
  }
  if (ys.length > 0 && x[x.length - 1] !== ys.length) {
    x.push(ys.length);
    y.push(ys[ys.length - 1] as number);
  }
  return { name, x, y };
}
