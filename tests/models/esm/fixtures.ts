import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpy } from '../../../src/io/npy.js';
import type { HostArray } from '../../../src/tensor/host-array.js';

/**
 * The fair-esm reference fixtures (tests/fixtures/esm, copied from the shared fixtures; see the
 * README there) and the comparison rule they come with: per array,
 * max |ours − ref| ≤ 2e-5 · max(1, max |ref|) over the compared elements.
 */

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/** Path under tests/fixtures/esm/. */
export function esmFixturePath(...parts: string[]): string {
  return join(REPO, 'tests', 'fixtures', 'esm', ...parts);
}

export const MODELS = ['esm2_t3_tiny', 'esm1b_t3_tiny'] as const;
export type FixtureModel = (typeof MODELS)[number];
export const BATCHES = ['main', 'masked', 'long'] as const;
export type FixtureBatch = (typeof BATCHES)[number];

/** One batch of inputs.json. */
export interface FixtureInputs {
  readonly labels: string[];
  readonly sequences: string[];
  readonly truncation_seq_length: number | null;
  readonly tokens: number[][];
  readonly lengths_with_specials: number[];
}

let inputs: Record<FixtureBatch, FixtureInputs> | undefined;
/** inputs.json. */
export function fixtureInputs(batch: FixtureBatch): FixtureInputs {
  inputs ??= JSON.parse(readFileSync(esmFixturePath('inputs.json'), 'utf8')) as Record<FixtureBatch, FixtureInputs>;
  return inputs[batch];
}

const LAYERS = [0, 1, 2, 3] as const;
const perLayer = (prefix: string): string[] => LAYERS.map((l) => `${prefix}_${l}`);

/**
 * Every reference array each batch stores (file `<name>.npy`, the same for both models): the one
 * list the parity tests compare, and the one a missing or extra file is checked against.
 */
export const EXPECTED_ARRAYS: Readonly<Record<FixtureBatch, readonly string[]>> = Object.freeze({
  main: Object.freeze(['tokens', 'logits', ...perLayer('repr_layer'), 'attentions', 'contacts', ...perLayer('mean_repr_layer'), ...perLayer('bos_repr_layer')]),
  masked: Object.freeze(['tokens', 'logits', ...perLayer('repr_layer')]),
  long: Object.freeze(['tokens', 'logits', ...perLayer('mean_repr_layer'), ...perLayer('bos_repr_layer')]),
});

/** Whether `batch` stores the reference array `name` (per EXPECTED_ARRAYS). */
export function expectsArray(batch: FixtureBatch, name: string): boolean {
  return EXPECTED_ARRAYS[batch].includes(name);
}

/** A reference array listed in EXPECTED_ARRAYS; throws when it is unlisted or its file is missing or unreadable. */
export function refArray(model: FixtureModel, batch: FixtureBatch, name: string): HostArray {
  return refArrayUnder(esmFixturePath(), model, batch, name);
}

/** refArray with the fixture root given (tests of the fixture rule itself). */
export function refArrayUnder(root: string, model: FixtureModel, batch: FixtureBatch, name: string): HostArray {
  if (!expectsArray(batch, name)) throw new Error(`${model}/${batch}/${name}.npy is not a reference array of the ${batch} batch (EXPECTED_ARRAYS)`);
  const path = join(root, model, batch, `${name}.npy`);
  try {
    return readNpy(path);
  } catch (cause) {
    throw new Error(`reference array ${model}/${batch}/${name}.npy cannot be read (${path})`, { cause });
  }
}

/** The fair-esm checkpoint and the Hugging Face directory of a fixture model. */
export function checkpointPaths(model: FixtureModel): { pt: string; hf: string } {
  return { pt: esmFixturePath(model, `${model}.pt`), hf: esmFixturePath(model, 'hf') };
}

/** Error of one array against the rule: `ratio` ≤ 1 passes. */
export interface Deviation {
  readonly maxAbs: number;
  readonly maxRef: number;
  readonly threshold: number;
  readonly ratio: number;
}

/** Compares elements where `keep(i)` holds (all by default). */
export function deviation(ours: ArrayLike<number>, ref: ArrayLike<number>, keep: (i: number) => boolean = () => true): Deviation {
  if (ours.length !== ref.length) throw new Error(`length ${ours.length} vs reference ${ref.length}`);
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!keep(i)) continue;
    const r = ref[i] as number;
    const d = Math.abs((ours[i] as number) - r);
    maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
    maxRef = Math.max(maxRef, Math.abs(r));
  }
  const threshold = 2e-5 * Math.max(1, maxRef);
  return { maxAbs, maxRef, threshold, ratio: maxAbs / threshold };
}

/** keep(i) for a (B, T, X) array: positions whose token is not pad. */
export function nonPad(tokens: HostArray, width: number): (i: number) => boolean {
  const t = tokens.data as BigInt64Array;
  return (i) => t[Math.floor(i / width)] !== 1n;
}

/** keep(i) for contacts (B, T − 2, T − 2): the block [:n, :n] of each row, n = residues. */
export function contactBlockMask(shape: readonly number[], residues: readonly number[]): (i: number) => boolean {
  const [, t] = shape as [number, number, number];
  return (i) => {
    const b = Math.floor(i / (t * t));
    const r = Math.floor(i / t) % t;
    const c = i % t;
    const n = residues[b] as number;
    return r < n && c < n;
  };
}
