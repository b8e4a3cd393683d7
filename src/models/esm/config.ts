import { z } from 'zod';
import { configError } from '../../errors.js';

/**
 * ESM model configurations: frozen presets for the published sizes (fair-esm `esm/pretrained.py`)
 * and for protdistil's ESM-2-style students, plus one validating schema for custom configs.
 */
export const EsmConfigSchema = z
  .object({
    arch: z.enum(['esm2', 'esm1b']),
    numLayers: z.number().int().positive(),
    embedDim: z.number().int().positive(),
    attentionHeads: z.number().int().positive(),
    ffnDim: z.number().int().positive(),
    vocabSize: z.number().int().positive().default(33),
    tokenDropout: z.boolean(),
    /** ESM-1b learned positions: max_positions (1024); the table has max + padding_idx + 1 rows. */
    maxPositions: z.number().int().positive().default(1024),
    /** ESM-1b LayerNorm on the embeddings before the first layer (fair-esm: on iff the checkpoint has its weights). */
    embLayerNormBefore: z.boolean().optional(),
    layerNormEps: z.number().positive().default(1e-5),
    paddingIdx: z.number().int().nonnegative().default(1),
    maskIdx: z.number().int().nonnegative().default(32),
  })
  .strict()
  .refine((c) => c.embedDim % c.attentionHeads === 0, { message: 'embedDim must be divisible by attentionHeads' })
  .refine((c) => c.arch !== 'esm2' || (c.embedDim / c.attentionHeads) % 2 === 0, { message: 'head dim (embedDim / attentionHeads) must be even for rotary embeddings' })
  .refine((c) => c.arch !== 'esm2' || c.embLayerNormBefore !== true, { message: 'embLayerNormBefore is an ESM-1b option' });

/** A validated ESM configuration. */
export type EsmConfig = Readonly<z.infer<typeof EsmConfigSchema>>;

/** Validates a config object (e.g. from JSON), with one clear error listing every problem. */
export function parseEsmConfig(raw: unknown): EsmConfig {
  const r = EsmConfigSchema.safeParse(raw);
  if (!r.success) {
    throw configError(`invalid ESM config: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return Object.freeze(r.data);
}

const esm2 = (numLayers: number, embedDim: number, attentionHeads: number, tokenDropout = true): EsmConfig =>
  parseEsmConfig({ arch: 'esm2', numLayers, embedDim, attentionHeads, ffnDim: 4 * embedDim, tokenDropout });

/** Published sizes (fair-esm README; heads from the Hugging Face configs). */
export const ESM2_T6_8M = esm2(6, 320, 20);
export const ESM2_T12_35M = esm2(12, 480, 20);
export const ESM2_T30_150M = esm2(30, 640, 20);
export const ESM2_T33_650M = esm2(33, 1280, 20);
export const ESM2_T36_3B = esm2(36, 2560, 40);
export const ESM1B_T33_650M = parseEsmConfig({ arch: 'esm1b', numLayers: 33, embedDim: 1280, attentionHeads: 20, ffnDim: 5120, tokenDropout: true, maxPositions: 1024, embLayerNormBefore: true });

/** Student presets: ESM-2 style (pre-LN, rotary, FFN 4x, vocab 33), no token-dropout rescale. */
export const STUDENT_SMALL = esm2(8, 128, 2, false);
export const STUDENT_MEDIUM = esm2(10, 256, 4, false);
export const STUDENT_LARGE = esm2(28, 384, 6, false);

/**
 * ESM-1b-style students of the distillation study (learned positions with 1026 rows, embedding
 * LayerNorm, FFN = 2 × dim, no token-dropout rescale): `student-s`, `student-m`, `student-l`.
 */
const esm1bStudent = (numLayers: number, embedDim: number, attentionHeads: number): EsmConfig =>
  parseEsmConfig({ arch: 'esm1b', numLayers, embedDim, attentionHeads, ffnDim: 2 * embedDim, tokenDropout: false, maxPositions: 1024, embLayerNormBefore: true });
export const STUDENT_S = esm1bStudent(8, 128, 2);
export const STUDENT_M = esm1bStudent(10, 256, 4);
export const STUDENT_L = esm1bStudent(28, 384, 6);

/** Presets by name (CLI and configs refer to these). */
export const ESM_PRESETS: Readonly<Record<string, EsmConfig>> = Object.freeze({
  esm2_t6_8M: ESM2_T6_8M,
  esm2_t12_35M: ESM2_T12_35M,
  esm2_t30_150M: ESM2_T30_150M,
  esm2_t33_650M: ESM2_T33_650M,
  esm2_t36_3B: ESM2_T36_3B,
  esm1b_t33_650M: ESM1B_T33_650M,
  'student-s': STUDENT_S,
  'student-m': STUDENT_M,
  'student-l': STUDENT_L,
  'esm2-8m': ESM2_T6_8M,
  'esm2-35m': ESM2_T12_35M,
  small: STUDENT_SMALL,
  medium: STUDENT_MEDIUM,
  large: STUDENT_LARGE,
});

/** Looks up a preset, listing the known names on failure. */
export function esmPreset(name: string): EsmConfig {
  const c = ESM_PRESETS[name];
  if (c === undefined) throw configError(`unknown ESM preset '${name}' (known: ${Object.keys(ESM_PRESETS).join(', ')})`);
  return c;
}

/** Whether an ESM-1b config applies the embedding LayerNorm (default on, as every released ESM-1b). */
export function usesEmbLayerNormBefore(c: EsmConfig): boolean {
  return c.arch === 'esm1b' && c.embLayerNormBefore !== false;
}
