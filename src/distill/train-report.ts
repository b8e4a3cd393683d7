import { readFileSync } from 'node:fs';
import { dataError } from '../errors.js';
import { lineChart, panelGrid } from '../report/charts.js';
import { formatNumber, markdownTable } from '../report/markdown-table.js';
import { renderVegaLite, svgToPng } from '../report/render.js';
import type { StepRecord, TrainResult, ValidRecord } from './train-run.js';
import type { TrainConfig } from './train-config.js';

/**
 * The end-of-run report of `protdistil train`: training-loss and validation-perplexity curves
 * (PNG + SVG) read back from the JSONL log, and a Markdown summary.
 */

/** The records of a run's `train_log.jsonl`. */
export function readTrainLog(path: string): { steps: StepRecord[]; valids: ValidRecord[] } {
  const steps: StepRecord[] = [];
  const valids: ValidRecord[] = [];
  readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let rec: { type?: string };
    try {
      rec = JSON.parse(line) as { type?: string };
    } catch (e) {
      throw dataError(`${path} line ${i + 1}: not JSON (${(e as Error).message})`, e);
    }
    if (rec.type === 'train') steps.push(rec as StepRecord);
    else if (rec.type === 'valid') valids.push(rec as ValidRecord);
  });
  return { steps, valids };
}

/** The curves figure as SVG and PNG. */
export async function trainCurves(log: { steps: readonly StepRecord[]; valids: readonly ValidRecord[] }, title: string): Promise<{ svg: string; png: Uint8Array }> {
  const s = log.steps.filter((r) => !r.skipped);
  const lossSeries = [{ name: 'loss', x: s.map((r) => r.step), y: s.map((r) => r.loss) }];
  if (s.some((r) => r.kd !== null)) {
    lossSeries.push({ name: 'CE part', x: s.map((r) => r.step), y: s.map((r) => r.ce) });
    lossSeries.push({ name: 'KD part', x: s.map((r) => r.step), y: s.map((r) => r.kd ?? NaN) });
  }
  const panels = [
    lineChart({ title: 'training loss', xTitle: 'step', yTitle: 'loss (nats)', series: lossSeries }),
    lineChart({
      title: 'validation perplexity',
      xTitle: 'step',
      yTitle: 'perplexity',
      points: true,
      series: [
        { name: 'pure mask (vs floors)', x: log.valids.map((v) => v.step), y: log.valids.map((v) => v.pure.perplexity) },
        { name: '80/10/10 (not vs floors)', x: log.valids.map((v) => v.step), y: log.valids.map((v) => v.bert.perplexity) },
      ],
    }),
  ];
  const svg = await renderVegaLite(panelGrid(panels, 2, title));
  return { svg, png: svgToPng(svg, { scale: 2 }) };
}

/** The Markdown summary of a finished run. */
export function trainSummaryMarkdown(cfg: TrainConfig, result: TrainResult, valids: readonly ValidRecord[]): string {
  const v = result.finalValid;
  const lines = [
    '# protdistil train',
    '',
    `- student: ${typeof cfg.student === 'string' ? cfg.student : JSON.stringify(cfg.student)} (${result.parameters.toLocaleString('en-US')} parameters)`,
    `- teacher: ${cfg.teacher ?? 'none (masked-LM training only)'}; λ = ${cfg.teacher === undefined ? 0 : (cfg.lambda ?? 0.5)}, T = ${cfg.temperature}`,
    `- data: ${cfg.train}; crop ${cfg.crop}; ${cfg.toksPerBatch !== undefined ? `${cfg.toksPerBatch} tokens per batch` : `batch size ${cfg.batchSize ?? 32}`}; mask ${cfg.maskProb} (80/10/10)`,
    `- optimizer: AdamW lr ${cfg.lr}, weight decay ${cfg.weightDecay}, ${cfg.schedule} schedule${cfg.clip === undefined ? '' : `, clip ${cfg.clip}`}; seed ${cfg.seed}`,
    `- ran ${result.steps} steps, ${result.tokens.toLocaleString('en-US')} tokens in ${(result.elapsedSec / 60).toFixed(1)} min (stopped by ${result.stoppedBy === 'time' ? 'the time budget' : 'the step budget'})`,
    ...(result.teacherShare === null ? [] : [`- teacher forward passes took ${(100 * result.teacherShare).toFixed(1)} % of the step time`]),
    '',
  ];
  if (v !== null) {
    lines.push(`Validation on ${cfg.valid} (${v.pure.sequences} sequences, ${v.pure.scored} scored positions, seed ${cfg.seed}):`, '');
    lines.push(markdownTable(['step', 'perplexity (pure mask)', 'accuracy (pure)', 'perplexity (80/10/10)', 'accuracy (80/10/10)'], valids.map((r) => [r.step, formatNumber(r.pure.perplexity), formatNumber(r.pure.accuracy), formatNumber(r.bert.perplexity), formatNumber(r.bert.accuracy)])));
    lines.push('', 'Only the pure-mask perplexity compares with n-gram floors: under 80/10/10, 10 % of scored residues are left in the input.');
    if (result.best !== null) lines.push('', `Best pure-mask perplexity ${formatNumber(result.best.perplexity)} at step ${result.best.step} (written to best/).`);
  }
  return `${lines.join('\n')}\n`;
}
