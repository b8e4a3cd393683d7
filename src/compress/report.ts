import type { TopLevelSpec } from 'vega-lite';
import type { PerplexityResult } from '../eval/perplexity.js';
import { hfModuleName } from '../io/esm/low-rank-config.js';
import { groupedBarChart, lineChart, panelGrid } from '../report/charts.js';
import { markdownTable, type TableCell } from '../report/markdown-table.js';
import { renderVegaLite, svgToPng } from '../report/render.js';
import type { CompressResult, ProjectionReport } from './compress.js';
import type { CompressDistillResult } from './distill.js';
import type { Agreement, Throughput } from './evaluate.js';
import type { FactorMethod } from './projection-fit.js';
import type { RankPolicy } from './rank-policy.js';

/**
 * `compress_report.json`, `.md` and `.png`: per projection the rank, parameters before/after and
 * output cosine; for the whole model parameters, file size, representation agreement, masked
 * perplexity and forward throughput before/after.
 */

export const REPORT_JSON = 'compress_report.json';
export const REPORT_MD = 'compress_report.md';
export const REPORT_PNG = 'compress_report.png';

/** Everything a report shows. */
export interface CompressReport {
  readonly model: { readonly source: string; readonly arch: string; readonly layers: number; readonly embedDim: number; readonly ffnDim: number };
  readonly calibration: { readonly fasta: string; readonly maxTokens: number; readonly maskProb: number };
  readonly result: CompressResult;
  readonly params: { readonly before: number; readonly after: number };
  readonly fileBytes: { readonly before: number; readonly after: number; readonly onnx: number };
  readonly agreement: Agreement & { readonly set: string };
  readonly perplexity: { readonly set: string; readonly before: PerplexityResult; readonly after: PerplexityResult } | null;
  readonly throughput: readonly Throughput[];
  /** The optional distillation after compression (`--distill-steps`). */
  readonly distill: CompressDistillResult | null;
  readonly threads: number;
  readonly seconds: number;
}

/** How calibration and rank selection were done, in words (stated in every report). */
export function methodNote(policy: RankPolicy, method: FactorMethod = 'closed-form'): string {
  const fac =
    method === 'closed-form'
      ? 'Factors: the exact data-aware closed form (best rank-r map for the calibration inputs).'
      : 'Factors: truncated SVD of each weight matrix (data-free baseline; dense bias kept), at the ranks chosen below from the calibration statistics.';
  const seq = 'Sequential calibration: each projection is fitted to the inputs it receives from the already-compressed earlier projections (layer k+1 on the outputs of compressed layer k; within a layer q/k/v, then out, fc1, fc2).';
  const sel =
    policy.kind === 'rank'
      ? `Rank ${policy.rank} for every projection that it makes smaller.`
      : policy.kind === 'target-cosine'
        ? `Per projection, the smallest rank whose closed-form output cosine on sampled calibration inputs reaches ${policy.cosine}.`
        : `Ranks allocated for at most ${policy.fraction} of the projection parameters, greedily by relative output error lost per parameter saved, from the dense model's input statistics; then fitted sequentially.`;
  return `${fac} ${seq} ${sel} Projections whose rank would not store fewer weights stay dense.`;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** The JSON report. */
export function reportJson(r: CompressReport): Record<string, unknown> {
  const p = r.result.projections;
  return {
    model: r.model,
    calibration: { fasta: r.calibration.fasta, max_tokens: r.calibration.maxTokens, mask_prob: r.calibration.maskProb, tokens: r.result.calibrationTokens, sequences: r.result.calibrationSequences, sample_rows: r.result.sampleRows },
    factors: r.result.method,
    rank_selection: { ...r.result.policy, method: methodNote(r.result.policy, r.result.method) },
    distillation: r.distill === null ? null : { steps: r.distill.steps, lambda: r.distill.lambda, temperature: r.distill.temperature, lr: r.distill.lr, first_loss: r.distill.firstLoss, last_loss: r.distill.lastLoss },
    projections: p.map((x) => ({
      name: x.path,
      hf_name: hfModuleName(x.path),
      in_features: x.inFeatures,
      out_features: x.outFeatures,
      rank: x.rank,
      params_before: x.paramsBefore,
      params_after: x.paramsAfter,
      output_cosine: x.cosine,
      output_rel_error: x.relError,
    })),
    totals: {
      params_before: r.params.before,
      params_after: r.params.after,
      projection_params_before: sum(p.map((x) => x.paramsBefore)),
      projection_params_after: sum(p.map((x) => x.paramsAfter)),
      factored_projections: p.filter((x) => x.rank !== null).length,
      dense_projections: p.filter((x) => x.rank === null).length,
      file_bytes_before: r.fileBytes.before,
      file_bytes_after: r.fileBytes.after,
      onnx_bytes: r.fileBytes.onnx,
    },
    representation_agreement: { set: r.agreement.set, token_cosine: r.agreement.tokenCosine, mean_cosine: r.agreement.meanCosine, tokens: r.agreement.tokens, sequences: r.agreement.sequences },
    perplexity:
      r.perplexity === null
        ? null
        : { set: r.perplexity.set, rule: 'pure', before: r.perplexity.before.perplexity, after: r.perplexity.after.perplexity, accuracy_before: r.perplexity.before.accuracy, accuracy_after: r.perplexity.after.accuracy, scored: r.perplexity.before.scored, sequences: r.perplexity.before.sequences },
    throughput: r.throughput.map((t) => ({ batch: t.batch, length: t.length, tokens_per_second_before: t.beforeTokensPerSecond, tokens_per_second_after: t.afterTokensPerSecond, speedup: t.speedup })),
    threads: r.threads,
    seconds: { calibration_and_fit: r.result.seconds, total: r.seconds },
  };
}

const count = (n: number): string => n.toLocaleString('en-US');
const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;

/** The Markdown report. */
export function reportMarkdown(r: CompressReport): string {
  const p = r.result.projections;
  const pb = sum(p.map((x) => x.paramsBefore));
  const pa = sum(p.map((x) => x.paramsAfter));
  const rows: TableCell[][] = [
    ['parameters', count(r.params.before), count(r.params.after), `${((100 * r.params.after) / r.params.before).toFixed(1)}%`],
    ['projection parameters', count(pb), count(pa), `${((100 * pa) / pb).toFixed(1)}%`],
    ['model.safetensors', mb(r.fileBytes.before), mb(r.fileBytes.after), `${((100 * r.fileBytes.after) / r.fileBytes.before).toFixed(1)}%`],
  ];
  if (r.distill !== null) rows.push([`distillation loss (${r.distill.steps} steps, λ ${r.distill.lambda}, T ${r.distill.temperature}, lr ${r.distill.lr})`, r.distill.firstLoss, r.distill.lastLoss, '']);
  if (r.perplexity !== null) rows.push([`masked perplexity (pure, ${r.perplexity.set})`, r.perplexity.before.perplexity, r.perplexity.after.perplexity, '']);
  for (const t of r.throughput) rows.push([`forward tokens/s, batch ${t.batch} x ${t.length}`, Math.round(t.beforeTokensPerSecond), Math.round(t.afterTokensPerSecond), `${t.speedup.toFixed(2)}x`]);
  const proj: TableCell[][] = p.map((x) => [x.path, `${x.outFeatures} x ${x.inFeatures}`, x.rank === null ? 'dense' : x.rank, count(x.paramsBefore), count(x.paramsAfter), x.cosine, x.relError]);
  return [
    `# protdistil compress: ${r.model.source}`,
    '',
    `${r.model.arch === 'esm2' ? 'ESM-2' : 'ESM-1b'}, ${r.model.layers} layers, embed ${r.model.embedDim}, FFN ${r.model.ffnDim}. Calibration: ${count(r.result.calibrationTokens)} tokens in ${r.result.calibrationSequences} sequences of ${r.calibration.fasta}, ${Math.round(100 * r.calibration.maskProb)} % of residues replaced by <mask>.`,
    '',
    methodNote(r.result.policy, r.result.method),
    '',
    markdownTable(['', 'before', 'after', 'after/before'], rows, { align: ['left', 'right', 'right', 'right'] }),
    '',
    `Final representations, ${r.agreement.set} (${count(r.agreement.tokens)} tokens, ${r.agreement.sequences} sequences): mean per-token cosine ${r.agreement.tokenCosine.toFixed(4)}, mean-embedding cosine ${r.agreement.meanCosine.toFixed(4)}.`,
    r.perplexity === null ? 'Masked perplexity: not measured (no --valid).' : `Masked perplexity: pure masking (every scored residue is <mask>), ${r.perplexity.before.scored} scored positions in ${r.perplexity.before.sequences} sequences, the same for both models.`,
    `Throughput: median forward pass (logits) on ${r.threads} ONNX Runtime thread(s), the two models interleaved.`,
    '',
    '## Projections',
    '',
    markdownTable(['projection', 'out x in', 'rank', 'params before', 'params after', 'output cosine', 'output rel. error'], proj, { align: ['left', 'right', 'right', 'right', 'right', 'right', 'right'] }),
    '',
    'Output cosine: mean cosine between the projection\'s outputs and the dense projection\'s on sampled calibration inputs; relative error: output energy lost on all calibration tokens.',
    '',
  ].join('\n');
}

/** The figure: ranks and cosines per projection, parameters per layer. */
export function reportSpec(r: CompressReport): TopLevelSpec {
  const p = r.result.projections;
  const idx = p.map((_, i) => i);
  const layers = [...new Set(p.map(layerOf))];
  const byLayer = (x: ProjectionReport[], f: (q: ProjectionReport) => number): number => sum(x.map(f));
  return panelGrid(
    [
      lineChart({ title: 'Output cosine per projection (forward order)', xTitle: 'projection', yTitle: 'cosine', series: [{ name: 'closed form', x: idx, y: p.map((x) => x.cosine) }], points: true }),
      lineChart({ title: 'Rank per projection (0 = dense)', xTitle: 'projection', yTitle: 'rank', series: [{ name: 'rank', x: idx, y: p.map((x) => x.rank ?? 0) }], points: true }),
      groupedBarChart({
        title: 'Projection parameters per layer',
        groups: layers,
        categories: ['before', 'after'],
        values: layers.map((l) => {
          const xs = p.filter((x) => layerOf(x) === l);
          return [byLayer(xs, (q) => q.paramsBefore), byLayer(xs, (q) => q.paramsAfter)];
        }),
        yTitle: 'parameters',
      }),
    ],
    2,
    `protdistil compress — params ${((100 * r.params.after) / r.params.before).toFixed(1)}% of the original, representation cosine ${r.agreement.tokenCosine.toFixed(3)}`,
  );
}

function layerOf(x: ProjectionReport): string {
  const m = /^layers\.(\d+)\./.exec(x.path);
  return m === null ? 'head' : `layer ${m[1]}`;
}

/** Renders the figure to PNG bytes. */
export async function renderCompressPng(r: CompressReport): Promise<Uint8Array> {
  return svgToPng(await renderVegaLite(reportSpec(r)), { scale: 2 });
}
