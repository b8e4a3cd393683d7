import { z } from 'zod';
import { configError } from '../errors.js';
import { ESM_PRESETS, parseEsmConfig, type EsmConfig } from '../models/esm/config.js';

/**
 * The configuration of a `protdistil train` run: one zod schema for JSON config files and flags
 * (flags override the file), with the defaults of the distillation study (AdamW, lr 1e-3, linear
 * warm-up then linear decay, 15 % masking with the 80/10/10 rule, λ = 0.5 and T = 1 with a teacher).
 */

/** Student presets `train` accepts by name. */
export const TRAIN_PRESETS = ['student-s', 'student-m', 'student-l', 'esm2-8m', 'esm2-35m'] as const;

const Custom = z
  .object({
    arch: z.enum(['esm2', 'esm1b']),
    layers: z.number().int().positive(),
    dim: z.number().int().positive(),
    heads: z.number().int().positive(),
    ffn: z.number().int().positive().optional(),
    tokenDropout: z.boolean().optional(),
  })
  .strict();

/** Duration text (`90s`, `30m`, `2h`, `1h30m`) or seconds as a number. */
const Duration = z.union([z.number().positive(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v * 1000;
  const m = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(v.trim());
  if (m === null || v.trim() === '' || (m[1] === undefined && m[2] === undefined && m[3] === undefined)) {
    ctx.addIssue({ code: 'custom', message: `'${v}' is not a duration (e.g. 90s, 30m, 2h, 1h30m)` });
    return z.NEVER;
  }
  return (Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 1000;
});

export const TrainConfigSchema = z
  .object({
    train: z.string().min(1),
    valid: z.string().min(1).optional(),
    out: z.string().min(1),
    student: z.union([z.enum(TRAIN_PRESETS), Custom]).default('student-s'),
    teacher: z.string().min(1).optional(),
    /** A teacher-logit cache directory (`protdistil label`) instead of a live --teacher. */
    teacherCache: z.string().min(1).optional(),
    /** Reuse K mask draws cyclically (epoch e masks as epoch e mod K); a --teacher-cache run defaults to the cache's K. */
    maskCycle: z.number().int().positive().optional(),
    lambda: z.number().min(0).max(1).optional(),
    temperature: z.number().positive().default(1),
    maskProb: z.number().gt(0).lt(1).default(0.15),
    crop: z.number().int().positive().default(1022),
    batchSize: z.number().int().positive().optional(),
    toksPerBatch: z.number().int().positive().optional(),
    maxSteps: z.number().int().positive().optional(),
    epochs: z.number().positive().optional(),
    maxTime: Duration.optional(),
    lr: z.number().positive().default(1e-3),
    warmupSteps: z.number().int().nonnegative().optional(),
    schedule: z.enum(['linear', 'cosine', 'constant']).default('linear'),
    weightDecay: z.number().min(0).default(0.01),
    clip: z.number().positive().optional(),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
    evalEvery: z.number().int().positive().default(500),
    validLimit: z.number().int().positive().optional(),
    saveEvery: z.number().int().positive().default(500),
    logEvery: z.number().int().positive().default(10),
    skipNonfinite: z.boolean().default(false),
    unknownAsUnk: z.boolean().default(false),
    bucketStep: z.number().int().positive().default(32),
  })
  .strict()
  .refine((c) => !(c.batchSize !== undefined && c.toksPerBatch !== undefined), { message: 'give --batch-size or --toks-per-batch, not both' })
  .refine((c) => c.teacher !== undefined || c.teacherCache !== undefined || c.lambda === undefined || c.lambda === 0, { message: '--lambda > 0 needs a --teacher (or --teacher-cache)' })
  .refine((c) => c.teacher === undefined || c.teacherCache === undefined, { message: 'give --teacher or --teacher-cache, not both' });

/** A validated run configuration (durations in ms). */
export type TrainConfig = Readonly<z.infer<typeof TrainConfigSchema>>;

/** Validates a raw config (file merged with flags) into one clear error listing every problem. */
export function parseTrainConfig(raw: unknown): TrainConfig {
  const r = TrainConfigSchema.safeParse(raw);
  if (!r.success) {
    throw configError(`invalid training configuration: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return Object.freeze(r.data);
}

/** The student's model config (a preset, or a custom shape: FFN 4 × dim for ESM-2, 2 × dim for ESM-1b by default). */
export function studentConfig(c: TrainConfig): EsmConfig {
  const s = c.student;
  if (typeof s === 'string') {
    const preset = ESM_PRESETS[s];
    if (preset === undefined) throw configError(`unknown student preset '${s}' (known: ${TRAIN_PRESETS.join(', ')})`);
    return preset;
  }
  return parseEsmConfig({
    arch: s.arch,
    numLayers: s.layers,
    embedDim: s.dim,
    attentionHeads: s.heads,
    ffnDim: s.ffn ?? (s.arch === 'esm2' ? 4 * s.dim : 2 * s.dim),
    tokenDropout: s.tokenDropout ?? false,
    ...(s.arch === 'esm1b' ? { maxPositions: 1024, embLayerNormBefore: true } : {}),
  });
}

/** λ of the run: the given value, 0.5 with a teacher (live or cached), 0 without. */
export function effectiveLambda(c: TrainConfig): number {
  return c.lambda ?? (c.teacher === undefined && c.teacherCache === undefined ? 0 : 0.5);
}
