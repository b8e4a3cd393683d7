import { statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { Command } from 'commander';
import { configError } from '../errors.js';
import { toJsonText, writeFilesAtomic, type FileEntry } from '../io/atomic-write.js';
import { runtimeOptions } from '../runtime/program.js';
import { parseRankConfig, SOLVERS, SYNTHETIC_KINDS, TEACHER_KINDS, type RankConfig } from '../rank/config.js';
import { DEFAULT_TRAIN_FILE, DEFAULT_VAL_FILE, defaultEmbeddingFiles } from '../rank/embeddings.js';
import { runDistilRank, type RankRunResult } from '../rank/pipeline.js';
import { comparisonConsole, markdownReport, renderReport, teacherConsole } from '../rank/report.js';
import { studentFiles } from '../rank/student-export.js';
import { DETAILS_FILE, detailsJson, REPORT_MD, REPORT_PNG, REPORT_SVG, SUMMARY_FILE, summaryJson, teacherSummary } from '../rank/summary.js';
import { parseFloatFlag, parseIntFlag, parseListFlag } from './flags.js';
import { existingIn, replaceNote, toBeReplaced, writtenList } from './overwrite.js';
import { rawFromFlags } from './flag-table.js';
import { progressBar } from './progress.js';

/**
 * `protdistil rank`: Distil-Rank. Compresses dense layers over protein-LM embeddings — the user's
 * own trained layers of any shape (`--layer`), and/or built-in Linear(D, D) teachers of three kinds
 * — to rank r by weight-space truncated SVD, by the exact data-aware closed form and by
 * distillation, and reports fidelity, speed and compression. Every flag maps to one key of the run
 * config (src/rank/config.ts); `--config FILE` supplies the same keys as JSON, flags win. Without
 * data flags, `embeddings_train.pt` and `embeddings_val.pt` in the working directory are used when
 * both exist (as the original benchmark does), else synthetic data. Results are written to --out
 * only when the whole run succeeded; a rerun replaces the files of an earlier one and says so
 * (see overwrite.ts).
 */

type Parse = (flag: string, v: string) => unknown;

const int = (min = 1): Parse => (flag, v) => parseIntFlag(flag, v, min);
const num = (above = -Infinity): Parse => (flag, v) => parseFloatFlag(flag, v, above);
const nonNegative: Parse = (flag, v) => {
  const x = parseFloatFlag(flag, v);
  if (x < 0) throw configError(`${flag} must be >= 0, got '${v}'`);
  return x;
};
const str: Parse = (_flag, v) => v;
const teacherList: Parse = (flag, v) => (v.trim() === 'none' ? [] : parseListFlag(flag, v, TEACHER_KINDS));
const ints: Parse = (flag, v) => (v.trim() === '' || v === 'none' ? [] : v.split(',').map((s) => parseIntFlag(flag, s.trim(), 1)));
const oneOf = (allowed: readonly string[]): Parse => (flag, v) => {
  if (!allowed.includes(v)) throw configError(`${flag} must be one of ${allowed.join(', ')}, got '${v}'`);
  return v;
};

/** Flag table: flag, config key, value name, help text, parser. Defaults come from the schema. */
const FLAGS: readonly (readonly [flag: string, key: keyof RankConfig, value: string, help: string, parse: Parse])[] = [
  ['--train', 'train', 'file', 'training embeddings, N x D (.pt from torch.save, .npy, .safetensors); synthetic data when omitted', str],
  ['--val', 'val', 'file', 'held-out embeddings; default: a seeded hold-out of --val-fraction of --train', str],
  ['--val-fraction', 'valFraction', 'x', 'fraction of --train held out when no --val is given', num(0)],
  ['--tensor', 'tensor', 'name', 'tensor to read from a .safetensors file that holds several', str],
  ['--synthetic', 'synthetic', 'kind', `synthetic generator without --train: ${SYNTHETIC_KINDS.join(' | ')}`, oneOf(SYNTHETIC_KINDS)],
  ['--synthetic-train', 'syntheticTrain', 'n', 'synthetic training rows', int()],
  ['--synthetic-val', 'syntheticVal', 'n', 'synthetic validation rows', int()],
  ['--synthetic-dim', 'syntheticDim', 'n', 'synthetic embedding width D', int(2)],
  ['--rank', 'rank', 'r', 'target rank (default 64, or per teacher from --target-cosine)', int()],
  ['--target-cosine', 'targetCosine', 'x', 'pick the smallest rank whose closed-form validation cosine reaches x', num(0)],
  ['--steps', 'steps', 'n', 'distillation steps', int()],
  ['--batch-size', 'batchSize', 'n', 'distillation batch size', int()],
  ['--lr', 'lr', 'x', 'distillation learning rate (AdamW)', num(0)],
  ['--weight-decay', 'weightDecay', 'x', 'AdamW weight decay', nonNegative],
  ['--cosine-weight', 'cosineWeight', 'x', 'weight of (1 - cosine) in the distillation loss', nonNegative],
  ['--schedule', 'schedule', 'name', 'learning-rate schedule: constant | cosine', oneOf(['constant', 'cosine'])],
  ['--init', 'init', 'name', 'student initialisation: svd | closed-form', oneOf(['svd', 'closed-form'])],
  ['--layers-dir', 'layersDir', 'dir', 'compress every layer file in this directory (as --layer)', str],
  ['--layer-key', 'layerKey', 'prefix', "the layer's prefix inside a module's state dict (e.g. 'head.dense' reads head.dense.weight, head.dense.bias)", str],
  ['--teachers', 'teachers', 'list', `built-in teachers, comma-separated: ${TEACHER_KINDS.join(',')} or 'none' (default: all, or none with --layer)`, teacherList],
  ['--teacher-steps', 'teacherSteps', 'n', 'task-trained teacher: Adam steps', int()],
  ['--teacher-lr', 'teacherLr', 'x', 'task-trained teacher: learning rate', num(0)],
  ['--teacher-batch-size', 'teacherBatchSize', 'n', 'task-trained teacher: batch size', int()],
  ['--teacher-noise', 'teacherNoise', 'x', 'task-trained teacher: denoising noise std', nonNegative],
  ['--sweep', 'sweep', 'list', "closed-form rank sweep, comma-separated ('none' to skip)", ints],
  ['--solver', 'solver', 'name', `singular vectors: ${SOLVERS.join(' | ')} (auto: exact up to D = 2048)`, oneOf(SOLVERS)],
  ['--seed', 'seed', 'n', 'random seed (data, teachers, batches)', int(0)],
  ['--latency-repeats', 'latencyRepeats', 'n', 'timed runs per batch size (median reported)', int()],
  ['--latency-warmup', 'latencyWarmup', 'n', 'untimed warm-up runs per batch size', int(0)],
  ['--latency-batches', 'latencyBatches', 'list', 'batch sizes to time (must include 32)', ints],
  ['--out', 'out', 'dir', 'output directory', str],
  ['--save-student', 'saveStudent', 'dir', 'write each distilled layer to <dir>/<teacher>/ as safetensors + config.json + ONNX', str],
];

/** Registers `protdistil rank`. */
export function registerRank(program: Command): void {
  const defaults = parseRankConfig({});
  const cmd = program
    .command('rank')
    .description('Distil-Rank: compress dense layers over PLM embeddings (your trained layers via --layer, or built-in teachers) to rank r by weight SVD, the exact closed form and distillation; report fidelity, speed, compression')
    .option('--config <file>', 'JSON file with run settings (config keys in camelCase); flags override it')
    .option(
      '--layer <file>',
      'a trained dense layer to compress (repeatable): torch.save(linear.state_dict()) .pt ({weight: [out, in], bias: [out]}), .safetensors, .npz or .npy; named by its file stem',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    );
  for (const [flag, key, value, help] of FLAGS) {
    const d = defaults[key];
    const shown = d === undefined ? '' : ` (default: ${Array.isArray(d) ? d.join(',') : String(d)})`;
    cmd.option(`${flag} <${value}>`, `${help}${shown}`);
  }
  cmd.action(async (o: Record<string, string | undefined>) => {
    const raw = rawConfig(o);
    const found = raw.train === undefined && !Object.keys(raw).some((k) => k.startsWith('synthetic')) ? defaultEmbeddingFiles(process.cwd()) : null;
    if (found !== null) {
      raw.train = relative(process.cwd(), found.train);
      raw.val = relative(process.cwd(), found.val);
      process.stderr.write(`found ${DEFAULT_TRAIN_FILE} and ${DEFAULT_VAL_FILE} in the working directory: real-data mode on them (--train/--val choose other files, --synthetic ignores them)\n`);
    }
    const config = parseRankConfig(raw);
    checkOutputDir(config.out, '--out');
    if (config.saveStudent !== undefined) checkOutputDir(config.saveStudent, '--save-student');
    const earlier = existingIn(config.out, [SUMMARY_FILE, DETAILS_FILE, REPORT_PNG, REPORT_SVG, REPORT_MD]);
    if (earlier.length > 0) process.stderr.write(`${replaceNote('--out', config.out, earlier)}\n`);
    // Student folders are named by teacher id: the built-in teachers run, then each layer file's stem.
    const builtIn = config.teachers ?? (config.layers.length === 0 && config.layersDir === undefined ? [...TEACHER_KINDS] : []);
    const studentIds = [...builtIn, ...config.layers.map((f) => basename(f).replace(/\.[^.]+$/, ''))];
    const earlierStudents = config.saveStudent === undefined ? [] : existingIn(config.saveStudent, studentIds);
    if (earlierStudents.length > 0) process.stderr.write(`${replaceNote('--save-student', config.saveStudent as string, earlierStudents)}\n`);
    const result = await runDistilRank(config, {
      log: (line) => process.stderr.write(`${line}\n`),
      progress: (label, total) => {
        const bar = progressBar(label, total, 'loss {loss}');
        bar.update(0, { loss: '-' });
        return bar;
      },
      onTeacher: (t) => process.stdout.write(`${teacherConsole(t, { threads: runtimeOptions().threads, repeats: config.latencyRepeats })}\n`),
    });
    const files = await outputFiles(result);
    const replaced = toBeReplaced(files.map((f) => f.path));
    writeFilesAtomic(files);
    process.stdout.write(`${comparisonConsole(result)}\n\n`);
    process.stdout.write(`wrote ${files.length} files (${(result.totalMs / 1000).toFixed(1)} s):\n${writtenList(files.map((f) => f.path), replaced)}\n`);
  });
}

/** Flags (and --config) to the raw config object that the schema validates. */
function rawConfig(o: Record<string, string | undefined>): Record<string, unknown> {
  const raw = rawFromFlags(o, FLAGS);
  // --layer repeats (commander collects it), adding to a config file's layers.
  const layers = (o as Record<string, unknown>).layer as string[] | undefined;
  if (layers !== undefined) raw.layers = [...(Array.isArray(raw.layers) ? (raw.layers as string[]) : []), ...layers];
  return raw;
}

/** Fails early (before hours of work) when an output path exists and is not a directory. */
function checkOutputDir(path: string, flag: string): void {
  try {
    if (!statSync(path).isDirectory()) throw configError(`${flag} ${path} exists and is not a directory`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
}

/** Every file of a run, for one atomic batch write. */
export async function outputFiles(result: RankRunResult): Promise<FileEntry[]> {
  const out = result.config.out;
  const { svg, png } = await renderReport(result);
  const files: FileEntry[] = [
    { path: join(out, SUMMARY_FILE), data: toJsonText(summaryJson(result), SUMMARY_FILE) },
    { path: join(out, DETAILS_FILE), data: toJsonText(detailsJson(result), DETAILS_FILE) },
    { path: join(out, REPORT_PNG), data: png },
    { path: join(out, REPORT_SVG), data: svg },
    { path: join(out, REPORT_MD), data: markdownReport(result) },
  ];
  const save = result.config.saveStudent;
  if (save !== undefined) {
    for (const t of result.teachers) {
      const s = teacherSummary(t);
      files.push(...studentFiles(join(save, t.id), t.student.factors, {
        teacher: t.id,
        method: 'distilled',
        student_init: t.student.init,
        data: result.data.realData ? 'real' : 'synthetic',
        val_cosine: s.student_cosine,
        val_rel_mse: s.student_rel_mse,
        params_teacher: s.params_teacher,
        compression: s.compression,
      }));
    }
  }
  return files;
}
