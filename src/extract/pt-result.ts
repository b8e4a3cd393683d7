import { writePt, type PtValue } from '../io/pt-writer.js';
import type { HostArray } from '../tensor/host-array.js';

/**
 * The per-sequence `.pt` file of fair-esm's `scripts/extract.py`: `torch.save` of a dict
 * `{"label": str, "representations": {layer: tensor}, "mean_representations": {…},
 * "bos_representations": {…}, "contacts": tensor}` with integer layer keys. Written by
 * `pt-writer.ts` in the zip container; dicts are `collections.OrderedDict`, which `torch.load`
 * returns and which index like plain dicts.
 */

/** A value of a result dict: text, a tensor, or tensors by layer. */
export type ResultValue = string | HostArray | ReadonlyMap<number, HostArray>;

/** Writes `entries` (in order) as a `.pt` dict that `torch.load` and `readPt` read. */
export function writeResultPt(path: string, entries: readonly (readonly [string, ResultValue])[]): void {
  writePt(path, new Map<string, PtValue>(entries));
}
