import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { configError, ioError } from '../errors.js';

/**
 * The `eval report CONFIG.json` schema: models, the perplexity section (evaluated FASTA files and
 * the n-gram training file), probe tasks and the t-SNE map. Relative paths are relative to the
 * config file.
 */

const Model = z.union([z.string(), z.object({ name: z.string().min(1), path: z.string().min(1) }).strict()]);
const TrainSize = z.union([z.literal('all'), z.number().int().min(2)]);

/** One probe task. */
const Task = z
  .object({
    name: z.string().min(1),
    train: z.string(),
    valid: z.string(),
    extra: z.array(z.string()).default([]),
    test: z.string().optional(),
    labels: z.string().optional(),
    seqCol: z.string().optional(),
    labelCol: z.string().optional(),
    idCol: z.string().optional(),
    trainSizes: z.array(TrainSize).min(1).default([100, 1000, 'all']),
    poolings: z.array(z.enum(['cls', 'mean'])).min(1).default(['cls', 'mean']),
  })
  .strict();

/** The whole config. */
export const EvalReportConfigSchema = z
  .object({
    models: z.array(Model).default([]),
    out: z.string().default('eval_report'),
    cache: z.string().default('.protdistil-cache/embeddings'),
    layer: z.number().int().default(-1),
    grid: z.array(z.number().positive()).min(1).default([0.01, 0.1, 1, 10]),
    seed: z.number().int().min(0).default(0),
    composition: z.boolean().default(true),
    perplexity: z
      .object({
        fasta: z.array(z.string()).min(1),
        ngramTrain: z.string().optional(),
        rules: z.array(z.enum(['pure', 'bert'])).min(1).default(['pure']),
        masks: z.number().int().min(1).default(1),
        limit: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
    tasks: z.array(Task).default([]),
    tsne: z
      .object({
        task: z.string(),
        split: z.string().default('valid'),
        method: z.enum(['tsne', 'umap']).default('tsne'),
        pooling: z.enum(['cls', 'mean']).default('cls'),
        perplexity: z.number().positive().default(30),
        neighbours: z.number().int().min(2).default(15),
        minDist: z.number().min(0).max(1).default(0.1),
        iterations: z.number().int().min(1).default(1000),
        maxPoints: z.number().int().min(3).default(1000),
      })
      .strict()
      .optional(),
  })
  .strict();

/** A parsed config with absolute paths. */
export type EvalReportConfig = z.infer<typeof EvalReportConfigSchema>;

/** Reads and validates a config file, resolving paths against its folder. */
export function readEvalReportConfig(path: string): EvalReportConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw ioError(`${path}: no such file`, e);
    throw configError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const r = EvalReportConfigSchema.safeParse(raw);
  if (!r.success) throw configError(`${path}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const base = dirname(resolve(path));
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const c = r.data;
  const names = new Set<string>();
  for (const t of c.tasks) {
    if (names.has(t.name)) throw configError(`${path}: two tasks are named '${t.name}'`);
    names.add(t.name);
  }
  if (c.tsne !== undefined && !names.has(c.tsne.task)) throw configError(`${path}: tsne.task '${c.tsne.task}' is not one of the tasks (${[...names].join(', ') || 'none'})`);
  if (c.perplexity === undefined && c.tasks.length === 0) throw configError(`${path}: nothing to evaluate (no perplexity section and no tasks)`);
  return {
    ...c,
    models: c.models.map((m) => (typeof m === 'string' ? abs(m) : { name: m.name, path: abs(m.path) })),
    out: abs(c.out),
    cache: abs(c.cache),
    ...(c.perplexity === undefined ? {} : { perplexity: { ...c.perplexity, fasta: c.perplexity.fasta.map(abs), ...(c.perplexity.ngramTrain === undefined ? {} : { ngramTrain: abs(c.perplexity.ngramTrain) }) } }),
    tasks: c.tasks.map((t) => ({ ...t, train: abs(t.train), valid: abs(t.valid), extra: t.extra.map(abs), ...(t.test === undefined ? {} : { test: abs(t.test) }), ...(t.labels === undefined ? {} : { labels: abs(t.labels) }) })),
  };
}
