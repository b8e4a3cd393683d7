import { z } from 'zod';
import { configError } from '../errors.js';

/**
 * The Distil-Rank run configuration: one schema with the defaults of the published benchmark
 * (rank 64, 1000 AdamW steps of batch 64 at lr 3e-3, loss MSE + 0.1·(1 − cosine), three teachers,
 * seed 42). The CLI builds a raw object from flags (and an optional JSON file) and validates it here.
 */

/** Teacher strategies (see teachers.ts). */
export const TEACHER_KINDS = ['random', 'task-trained', 'spectral'] as const;
export type TeacherKind = (typeof TEACHER_KINDS)[number];

/** The original benchmark's experiment names of the built-in teachers (keys of `experiments` in the summary). */
export const EXPERIMENT_NAMES: Readonly<Record<TeacherKind, string>> = Object.freeze({ random: 'Random', 'task-trained': 'Task-Trained', spectral: 'Spectral' });

/** Synthetic input generators (see synthetic.ts). */
export const SYNTHETIC_KINDS = ['plm-like', 'seed'] as const;
export type SyntheticKind = (typeof SYNTHETIC_KINDS)[number];

/** How singular vectors are computed: exact (Gram + eigensolver), randomized, or by size. */
export const SOLVERS = ['auto', 'exact', 'randomized'] as const;
export type Solver = (typeof SOLVERS)[number];

const positiveInt = z.number().int().positive();

export const RankConfigSchema = z
  .object({
    /** Training embeddings (.pt, .npy, .safetensors); synthetic data when absent. */
    train: z.string().min(1).optional(),
    /** Held-out embeddings; when absent a seeded split of `train` is held out. */
    val: z.string().min(1).optional(),
    /** Tensor to read from a .safetensors file holding several. */
    tensor: z.string().min(1).optional(),
    /** Fraction of `train` rows held out when no `val` file is given. */
    valFraction: z.number().gt(0).lt(1).default(0.2),
    synthetic: z.enum(SYNTHETIC_KINDS).default('plm-like'),
    syntheticTrain: positiveInt.default(4000),
    syntheticVal: positiveInt.default(1000),
    syntheticDim: z.number().int().min(2).default(1280),
    /** Target rank; default 64, or chosen per teacher by `targetCosine` when that is given. */
    rank: positiveInt.optional(),
    /** Pick the smallest closed-form rank whose validation cosine reaches this. */
    targetCosine: z.number().gt(0).lte(1).optional(),
    steps: positiveInt.default(1000),
    batchSize: positiveInt.default(64),
    lr: z.number().positive().default(3e-3),
    weightDecay: z.number().min(0).default(0.01),
    cosineWeight: z.number().min(0).default(0.1),
    /** Learning rate: half-cosine decay from lr to 0 over the steps (as CosineAnnealingLR), or constant. */
    schedule: z.enum(['constant', 'cosine']).default('cosine'),
    /** Student initialisation: truncated SVD of the teacher weight, or the data-aware closed form. */
    init: z.enum(['svd', 'closed-form']).default('svd'),
    /** Built-in teachers; default all three, or none when trained layers are given (`layers`, `layersDir`). */
    teachers: z.array(z.enum(TEACHER_KINDS)).optional(),
    /** The user's trained dense layers (.pt state dict, .safetensors, .npz, .npy); each is compressed like a teacher. */
    layers: z.array(z.string().min(1)).default([]),
    /** A directory whose layer files are all compressed (sorted by name, after `layers`). */
    layersDir: z.string().min(1).optional(),
    /** State-dict prefix of the layer inside each file (`head.dense` reads `head.dense.weight`, `head.dense.bias`). */
    layerKey: z.string().min(1).optional(),
    teacherSteps: positiveInt.default(500),
    teacherLr: z.number().positive().default(1e-3),
    teacherBatchSize: positiveInt.default(64),
    teacherNoise: z.number().min(0).default(0.3),
    sweep: z.array(positiveInt).default([8, 16, 32, 64, 128, 256]),
    solver: z.enum(SOLVERS).default('auto'),
    seed: z.number().int().min(0).default(42),
    latencyRepeats: positiveInt.default(300),
    latencyWarmup: z.number().int().min(0).default(30),
    latencyBatches: z.array(positiveInt).min(1).default([1, 32, 1024]),
    out: z.string().min(1).default('results'),
    saveStudent: z.string().min(1).optional(),
  })
  .strict()
  .refine((c) => c.val === undefined || c.train !== undefined, { message: 'val needs train (a validation file alone has nothing to train on)', path: ['val'] })
  .refine((c) => c.teachers === undefined || new Set(c.teachers).size === c.teachers.length, { message: 'teachers must not repeat', path: ['teachers'] })
  .refine((c) => c.teachers === undefined || c.teachers.length > 0 || c.layers.length > 0 || c.layersDir !== undefined, {
    message: 'nothing to compress: no built-in teachers and no layer files',
    path: ['teachers'],
  })
  .refine((c) => new Set(c.layers).size === c.layers.length, { message: 'layer files must not repeat', path: ['layers'] })
  .refine((c) => c.latencyBatches.includes(32), { message: 'latencyBatches must include 32 (the batch the speedup is reported at)', path: ['latencyBatches'] });

/** A validated run configuration. */
export type RankConfig = Readonly<z.infer<typeof RankConfigSchema>>;

/** The built-in teachers a run uses: `teachers` when given, else all three unless trained layers are given. */
export function builtInTeachers(c: RankConfig): readonly TeacherKind[] {
  return c.teachers ?? (c.layers.length > 0 || c.layersDir !== undefined ? [] : TEACHER_KINDS);
}

/** Rank used when neither `rank` nor `targetCosine` is given. */
export const DEFAULT_RANK = 64;

/** Validates a raw config (flags and/or JSON), with one error listing every problem. */
export function parseRankConfig(raw: unknown): RankConfig {
  const r = RankConfigSchema.safeParse(raw);
  if (!r.success) {
    throw configError(`invalid rank config: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return Object.freeze(r.data);
}

/** Above this width the exact (cubic, in-process) eigensolver gives way to randomized SVD. */
export const EXACT_SOLVER_MAX_DIM = 2048;

/** The concrete solver for a layer of the given size. */
export function resolveSolver(solver: Solver, inDim: number, outDim: number): 'exact' | 'randomized' {
  if (solver !== 'auto') return solver;
  return Math.max(inDim, outDim) <= EXACT_SOLVER_MAX_DIM ? 'exact' : 'randomized';
}
