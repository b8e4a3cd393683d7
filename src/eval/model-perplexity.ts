import { loadSequenceSet } from '../data/sequence-set.js';
import { maskedPerplexity, modelLogits, pseudoPerplexity, scoredPositions, type MaskRule, type PerplexityResult } from './perplexity.js';
import { checkSameAlphabet, type NamedModel } from './probe-models.js';

/**
 * Masked perplexity of several models on one FASTA file, all on the same scored positions
 * (perplexity.ts draws them from the seed and the sequence index only), under each asked rule.
 */

/** One model under one rule. */
export interface ModelPerplexity extends PerplexityResult {
  readonly model: string;
  readonly file: string;
  readonly seed: number;
  readonly masks: number;
  readonly truncation: number;
}

/** Options of {@link modelsPerplexity}. */
export interface ModelsPerplexityOptions {
  readonly rules: readonly MaskRule[];
  readonly seed: number;
  readonly masks: number;
  readonly truncation?: number;
  readonly limit?: number;
  readonly toksPerBatch?: number;
  /** Also pseudo-perplexity (every residue masked alone; L² tokens per sequence). */
  readonly pseudo?: boolean;
  readonly onProgress?: (what: string, done: number, total: number) => void;
}

/** Evaluates every model under every rule on `fasta`. */
export async function modelsPerplexity(models: readonly NamedModel[], fasta: string, o: ModelsPerplexityOptions): Promise<ModelPerplexity[]> {
  checkSameAlphabet(models);
  const set = await loadSequenceSet(fasta, o.limit === undefined ? {} : { limit: o.limit });
  // One truncation for all models, so every model scores the same positions.
  const limits = models.map((m) => (m.loaded.config.arch === 'esm1b' ? m.loaded.config.maxPositions - 2 : 1022));
  const truncation = Math.min(o.truncation ?? 1022, ...limits);
  const scored = scoredPositions(set, { seed: o.seed, masks: o.masks, truncation });
  const out: ModelPerplexity[] = [];
  for (const m of models) {
    const logits = await modelLogits(m.loaded.model, truncation + 2);
    for (const rule of o.rules) {
      const r = await maskedPerplexity(logits, scored, rule, {
        ...(o.toksPerBatch === undefined ? {} : { toksPerBatch: o.toksPerBatch }),
        onProgress: (d, t) => o.onProgress?.(`${m.name} ${rule}`, d, t),
      });
      out.push({ ...r, model: m.name, file: fasta, seed: o.seed, masks: o.masks, truncation });
    }
    if (o.pseudo === true) {
      const r = await pseudoPerplexity(logits, set, { truncation, ...(o.toksPerBatch === undefined ? {} : { toksPerBatch: o.toksPerBatch }), onProgress: (d, t) => o.onProgress?.(`${m.name} pseudo`, d, t) });
      out.push({ ...r, model: m.name, file: fasta, seed: o.seed, masks: 1, truncation });
    }
  }
  return out;
}
