import { checkpointError, isProtdistilError } from '../../errors.js';
import type { EsmModel } from '../../models/esm/model.js';
import { lowRankPaths, swapToLowRank } from '../../nn/swap.js';
import { fairEsmToHfName, fromFairEsmName, hfToFairEsmName, toFairEsmName } from './names.js';

/**
 * The one extension protdistil makes to Hugging Face ESM directories: models compressed by
 * `protdistil compress` store some projections as two factors, and `config.json` lists them in
 * one field, `protdistil_low_rank`, mapping the projection's Hugging Face module name to its rank:
 *
 *     "protdistil_low_rank": { "esm.encoder.layer.0.attention.self.query": 24, ... }
 *
 * A listed projection has `<name>.a.weight` (r, in), `<name>.b.weight` (out, r) and
 * `<name>.b.bias` (out) in `model.safetensors` instead of `<name>.weight` and `<name>.bias`;
 * y = (x·Aᵀ)·Bᵀ + b. Loading stays strict: the loader swaps exactly the listed projections and
 * then every tensor must fit, so a listed projection stored dense (or a factored one not listed)
 * is reported as missing and unexpected keys. transformers cannot load such a directory (it
 * knows no factored projections); the ONNX file `compress` writes beside it runs anywhere.
 */

/** The config.json field. */
export const LOW_RANK_FIELD = 'protdistil_low_rank';

/** Hugging Face module name of a protdistil module path (`layers.0.selfAttn.qProj` -> `esm.encoder.layer.0.attention.self.query`). */
export function hfModuleName(path: string): string {
  const hf = fairEsmToHfName(toFairEsmName(`${path}.weight`));
  if (hf === null) throw checkpointError(`no Hugging Face name for module ${path}`);
  return hf.slice(0, -'.weight'.length);
}

/** The field's value for a model: factored projections by Hugging Face name, or null when none is factored. */
export function lowRankField(model: EsmModel): Record<string, number> | null {
  const paths = lowRankPaths(model);
  if (paths.size === 0) return null;
  return Object.fromEntries([...paths].map(([p, r]) => [hfModuleName(p), r]));
}

/**
 * Swaps the projections a config lists for zero-filled low-rank placeholders of the listed rank,
 * so the strict weight assignment that follows expects their factors. `raw` is the field's value
 * (undefined when absent). Every problem is reported at once.
 */
export function applyLowRankField(model: EsmModel, raw: unknown, where: string): number {
  if (raw === undefined || raw === null) return 0;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw checkpointError(`${where}: ${LOW_RANK_FIELD} must map projection names to ranks, found ${JSON.stringify(raw)}`);
  const specs = new Map<string, number>();
  const problems: string[] = [];
  for (const [name, rank] of Object.entries(raw as Record<string, unknown>)) {
    const fair = hfToFairEsmName(`${name}.weight`);
    const path = fair === null ? null : fromFairEsmName(fair).slice(0, -'.weight'.length);
    if (path === null) problems.push(`'${name}' is not an ESM projection`);
    else if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 1) problems.push(`'${name}': rank must be a positive integer, found ${JSON.stringify(rank)}`);
    else specs.set(path, rank);
  }
  if (problems.length > 0) throw checkpointError(`${where}: ${LOW_RANK_FIELD}: ${problems.join('; ')}`);
  try {
    swapToLowRank(model, specs);
  } catch (e) {
    if (isProtdistilError(e)) throw checkpointError(`${where}: ${LOW_RANK_FIELD}: ${e.message}`, e);
    throw e;
  }
  return specs.size;
}
