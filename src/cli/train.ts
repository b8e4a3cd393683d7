import { join } from 'node:path';
import type { Command } from 'commander';
import { toJsonText, writeFilesAtomic } from '../io/atomic-write.js';
import { configError } from '../errors.js';
import { readTrainLog, trainCurves, trainSummaryMarkdown } from '../distill/train-report.js';
import { runTraining, type StepRecord, type ValidRecord } from '../distill/train-run.js';
import { parseTrainConfig, TRAIN_PRESETS, type TrainConfig } from '../distill/train-config.js';
import { addFlagTable, boolFlag, intFlag, nonNegativeFlag, numFlag, oneOfFlag, rawFromFlags, strFlag, type FlagRow } from './flag-table.js';
import { progressBar, type Progress } from './progress.js';

/**
 * `protdistil train`: masked-LM training of an ESM-style model, with knowledge distillation from
 * a teacher when `--teacher` is given (src/distill/train-run.ts). Flags map onto the run config
 * (src/distill/train-config.ts); `--config FILE` gives the same keys as JSON.
 */

type Key = keyof TrainConfig | 'arch' | 'layers' | 'dim' | 'heads' | 'ffn';

const FLAGS: readonly FlagRow<Key>[] = [
  ['--train', 'train', 'fasta', 'training sequences (FASTA, plain or .gz)', strFlag],
  ['--valid', 'valid', 'fasta', 'validation sequences: pure-mask perplexity every --eval-every steps picks best/', strFlag],
  ['--out', 'out', 'dir', 'run directory: checkpoints/, best/, final/, train_log.jsonl, report', strFlag],
  ['--student', 'student', 'preset', `student preset: ${TRAIN_PRESETS.join(', ')} (or --arch/--layers/--dim/--heads)`, oneOfFlag(TRAIN_PRESETS)],
  ['--arch', 'arch', 'arch', 'custom student architecture: esm2 (rotary) | esm1b (learned positions)', oneOfFlag(['esm2', 'esm1b'])],
  ['--layers', 'layers', 'n', 'custom student: layers', intFlag()],
  ['--dim', 'dim', 'n', 'custom student: embedding dim', intFlag()],
  ['--heads', 'heads', 'n', 'custom student: attention heads', intFlag()],
  ['--ffn', 'ffn', 'n', 'custom student: FFN dim (default 4 x dim for esm2, 2 x dim for esm1b)', intFlag()],
  ['--teacher', 'teacher', 'model', 'teacher: fair-esm .pt, Hugging Face directory, or a model written by train (final/hf)', strFlag],
  ['--teacher-cache', 'teacherCache', 'dir', 'teacher logits precomputed by protdistil label (no teacher in memory; same losses as --teacher with the same masks)', strFlag],
  ['--mask-cycle', 'maskCycle', 'K', "reuse K mask draws: epoch e masks as epoch e mod K (default with --teacher-cache: the cache's K; otherwise fresh masks every epoch)", intFlag()],
  ['--lambda', 'lambda', 'x', 'weight of the distillation term (default 0.5 with a teacher, 0 without)', nonNegativeFlag],
  ['--temperature', 'temperature', 'T', 'distillation temperature', numFlag(0)],
  ['--mask-prob', 'maskProb', 'p', 'fraction of residues masked (80/10/10 rule)', numFlag(0)],
  ['--crop', 'crop', 'n', 'residues per sequence (a random window of longer ones)', intFlag()],
  ['--batch-size', 'batchSize', 'n', 'sequences per batch (default 32)', intFlag()],
  ['--toks-per-batch', 'toksPerBatch', 'n', 'padded tokens per batch instead of a fixed batch size', intFlag()],
  ['--max-steps', 'maxSteps', 'n', 'optimizer steps (the schedule spans them)', intFlag()],
  ['--epochs', 'epochs', 'x', 'epochs when --max-steps is not given (default 1)', numFlag(0)],
  ['--max-time', 'maxTime', 'duration', 'stop cleanly after this training time (e.g. 30m, 2h; resumes count earlier time)', strFlag],
  ['--lr', 'lr', 'x', 'peak learning rate (AdamW)', numFlag(0)],
  ['--warmup-steps', 'warmupSteps', 'n', 'linear warm-up steps (default min(1000, 10 % of the steps))', intFlag(0)],
  ['--schedule', 'schedule', 'name', 'after warm-up: linear (decay to 0) | cosine | constant', oneOfFlag(['linear', 'cosine', 'constant'])],
  ['--weight-decay', 'weightDecay', 'x', 'AdamW weight decay', nonNegativeFlag],
  ['--clip', 'clip', 'x', 'clip the global gradient norm at x', numFlag(0)],
  ['--seed', 'seed', 'n', 'seed of init, crops, masks, batch order and validation positions', intFlag(0)],
  ['--eval-every', 'evalEvery', 'n', 'validate every n steps', intFlag()],
  ['--valid-limit', 'validLimit', 'n', 'validate on the first n sequences of --valid', intFlag()],
  ['--save-every', 'saveEvery', 'n', 'checkpoint every n steps (and at the end)', intFlag()],
  ['--log-every', 'logEvery', 'n', 'log a training step every n steps', intFlag()],
  ['--skip-nonfinite', 'skipNonfinite', null, 'skip updates with a non-finite loss instead of stopping', boolFlag],
  ['--unknown-as-unk', 'unknownAsUnk', null, 'map characters outside the ESM alphabet to <unk> instead of failing', boolFlag],
];

/** Registers `protdistil train`. */
export function registerTrain(program: Command): void {
  const defaults = parseTrainConfig({ train: '-', out: '-' });
  const cmd = program
    .command('train')
    .description('train an ESM-style protein LM by masked-LM training, distilling from --teacher when given: (1-λ)·CE + λ·T²·KL on masked positions')
    .option('--resume', 'continue the run in --out from its latest checkpoint (bit-identical to an uninterrupted run)');
  addFlagTable(cmd, FLAGS, defaults as unknown as Partial<Record<Key, unknown>>);
  cmd.action(async (o: Record<string, unknown>) => {
    const raw = rawFromFlags(o, FLAGS);
    const custom = ['arch', 'layers', 'dim', 'heads', 'ffn'].filter((k) => raw[k] !== undefined);
    if (custom.length > 0) {
      if (raw.student !== undefined && typeof raw.student === 'string') throw configError('give --student PRESET or a custom shape (--arch --layers --dim --heads), not both');
      const missing = ['arch', 'layers', 'dim', 'heads'].filter((k) => raw[k] === undefined);
      if (missing.length > 0) throw configError(`a custom student needs ${missing.map((k) => `--${k}`).join(', ')}`);
      raw.student = { arch: raw.arch, layers: raw.layers, dim: raw.dim, heads: raw.heads, ...(raw.ffn === undefined ? {} : { ffn: raw.ffn }) };
      for (const k of custom) delete raw[k];
    }
    for (const need of ['train', 'out']) if (raw[need] === undefined) throw configError(`train needs --${need}`);
    const cfg = parseTrainConfig(raw);
    await trainCommand(cfg, o.resume === true);
  });
}

async function trainCommand(cfg: TrainConfig, resume: boolean): Promise<void> {
  const tty = process.stderr.isTTY === true;
  let bar: Progress | null = null;
  let total = 0;
  const result = await runTraining(cfg, resume, {
    onStart: (s) => {
      total = s.totalSteps;
      const what = s.lambda > 0 ? `distillation λ = ${s.lambda}, T = ${cfg.temperature}` : 'masked-LM training';
      process.stderr.write(
        `${what}: ${s.parameters.toLocaleString('en-US')} parameters, ${s.trainSequences.toLocaleString('en-US')} training sequences (${s.batchesPerEpoch} batches per epoch), ` +
          `${s.totalSteps} steps${s.resumedFrom === null ? '' : `, resuming at step ${s.startStep} from ${s.resumedFrom}`}\n`,
      );
      bar = progressBar('train', s.totalSteps, 'loss {loss} (ce {ce} kd {kd}) | {tps} tok/s | valid ppl {ppl}');
      bar.update(s.startStep, { loss: '-', ce: '-', kd: '-', tps: '-', ppl: '-' });
    },
    onStep: (r: StepRecord) => {
      bar?.update(r.step, { loss: r.loss.toFixed(3), ce: r.ce.toFixed(3), kd: r.kd === null ? '-' : r.kd.toFixed(3), tps: Math.round(r.tokensPerSec) });
      if (!tty && r.step % (cfg.logEvery * 10) === 0) process.stderr.write(`step ${r.step}/${total} loss ${r.loss.toFixed(4)} ${Math.round(r.tokensPerSec)} tok/s ${(r.elapsedSec / 60).toFixed(1)} min\n`);
    },
    onValid: (v: ValidRecord) => {
      bar?.update(v.step, { ppl: v.pure.perplexity.toFixed(3) });
      if (!tty) process.stderr.write(`valid step ${v.step}: perplexity ${v.pure.perplexity.toFixed(3)} pure mask (${v.bert.perplexity.toFixed(3)} under 80/10/10), accuracy ${v.pure.accuracy.toFixed(4)}${v.best ? ' (best)' : ''}\n`);
    },
  });
  (bar as Progress | null)?.stop();
  const log = readTrainLog(join(cfg.out, 'train_log.jsonl'));
  const { svg, png } = await trainCurves(log, `protdistil train: ${typeof cfg.student === 'string' ? cfg.student : 'custom student'}`);
  const summary = {
    steps: result.steps,
    stopped_by: result.stoppedBy,
    tokens: result.tokens,
    elapsed_sec: result.elapsedSec,
    parameters: result.parameters,
    teacher_share: result.teacherShare,
    final_valid: result.finalValid === null ? null : { step: result.finalValid.step, pure: result.finalValid.pure, bert: result.finalValid.bert },
    best: result.best,
    config: cfg,
  };
  writeFilesAtomic([
    { path: join(cfg.out, 'train_curves.svg'), data: svg },
    { path: join(cfg.out, 'train_curves.png'), data: png },
    { path: join(cfg.out, 'train_summary.md'), data: trainSummaryMarkdown(cfg, result, log.valids) },
    { path: join(cfg.out, 'train_summary.json'), data: toJsonText(summary, 'train_summary.json') },
  ]);
  const v = result.finalValid;
  process.stdout.write(
    `trained ${result.steps} steps (${result.tokens.toLocaleString('en-US')} tokens, ${(result.elapsedSec / 60).toFixed(1)} min)` +
      (v === null ? '' : `; validation perplexity ${v.pure.perplexity.toFixed(3)} (pure mask), ${v.bert.perplexity.toFixed(3)} (80/10/10)`) +
      `\nwrote ${result.outputs.final}/ ${result.outputs.best === null ? '' : `${result.outputs.best}/ `}and the report in ${cfg.out}\n`,
  );
}
