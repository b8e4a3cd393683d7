import { configError } from '../../errors.js';
import { Rng } from '../../tensor/random.js';
import type { EsmConfig } from './config.js';
import { Esm1b } from './esm1b.js';
import { Esm2, type EsmModelOptions } from './esm2.js';

/** Either ESM architecture; both have the same forward contract (`EsmOutput`). */
export type EsmModel = Esm2 | Esm1b;

/** Builds the model class the config's `arch` names. */
export function createEsmModel(config: EsmConfig, rng: Rng, opts: EsmModelOptions = {}): EsmModel {
  return config.arch === 'esm2' ? new Esm2(config, rng, opts) : new Esm1b(config, rng, opts);
}

/**
 * A generator that hands out zero-filled arrays instead of random draws: models built with it
 * are placeholders whose parameters a checkpoint loader replaces one by one. Fresh zeroed buffers
 * are not touched until written, so they cost address space, not resident memory.
 */
export class NoInit extends Rng {
  constructor() {
    super(0);
  }
  override normalArray(n: number): Float32Array {
    return new Float32Array(n);
  }
  override uniformArray(n: number): Float32Array {
    return new Float32Array(n);
  }
  override fork(): Rng {
    return new NoInit();
  }
}

/**
 * Maps representation layer indices as fair-esm's extract.py does: each must be in
 * [−(L+1), L] and becomes `(i + L + 1) mod (L + 1)`; duplicates are dropped, order kept.
 */
export function resolveReprLayers(layers: readonly number[], numLayers: number): number[] {
  const out: number[] = [];
  for (const i of layers) {
    if (!Number.isInteger(i) || i < -(numLayers + 1) || i > numLayers) {
      throw configError(`representation layer ${i} is out of range for a ${numLayers}-layer model (allowed: ${-(numLayers + 1)} … ${numLayers}; negative counts from the end, -1 = ${numLayers})`);
    }
    const r = (i + numLayers + 1) % (numLayers + 1);
    if (!out.includes(r)) out.push(r);
  }
  return out;
}
