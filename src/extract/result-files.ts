import { configError } from '../errors.js';
import { encodeNpy, parseNpy } from '../io/npy.js';
import { isHostArray, readPt } from '../io/pt-reader.js';
import { RandomAccessFile } from '../io/random-access-file.js';
import { SafetensorsReader, writeSafetensors } from '../io/safetensors.js';
import { writeStreamedAtomic } from '../io/streamed-write.js';
import { ZipReader } from '../io/zip-reader.js';
import { writeZip } from '../io/zip-writer.js';
import { hostArray, type HostArray } from '../tensor/host-array.js';
import { writeResultPt, type ResultValue } from './pt-result.js';

/**
 * One output file per sequence, with fair-esm extract.py's contents (spec §6):
 * - `pt`: `torch.save` dict {label, representations: {layer: (tl, E)}, mean_representations:
 *   {layer: (E)}, bos_representations: {layer: (E)}, contacts: (tl, tl), logits: (tl, V)};
 * - `safetensors`: the same arrays named `representations.<layer>`, `mean_representations.<layer>`,
 *   `bos_representations.<layer>`, `contacts`, `logits`, with the label in the metadata;
 * - `npy`: a NumPy `.npz` archive (what `np.load` opens) of those names as `.npy` members.
 * `logits` (not in extract.py) are the LM logits at residue positions 1 … tl.
 */

/** Per-sequence file formats. */
export type OutputFormat = 'pt' | 'safetensors' | 'npy';
/** Every per-sequence format. */
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['pt', 'safetensors', 'npy'];

/** File extension of each format (`npy` holds several arrays, hence NumPy's `.npz`). */
export const RESULT_EXTENSION: Readonly<Record<OutputFormat, string>> = { pt: '.pt', safetensors: '.safetensors', npy: '.npz' };

/** The arrays extracted for one sequence. */
export interface SequenceResult {
  readonly label: string;
  /** Per-token representations (tl, E) by layer. */
  readonly representations?: ReadonlyMap<number, HostArray>;
  /** Means over residues (E) by layer. */
  readonly meanRepresentations?: ReadonlyMap<number, HostArray>;
  /** BOS vectors (E) by layer. */
  readonly bosRepresentations?: ReadonlyMap<number, HostArray>;
  /** (tl, tl) */
  readonly contacts?: HostArray;
  /** (tl, V) */
  readonly logits?: HostArray;
}

const GROUPS = [
  ['representations', 'representations'],
  ['mean_representations', 'meanRepresentations'],
  ['bos_representations', 'bosRepresentations'],
] as const;

/** The arrays of a result under flat names (`mean_representations.33`, `contacts`, …). */
export function flatArrays(r: SequenceResult): Map<string, HostArray> {
  const out = new Map<string, HostArray>();
  for (const [name, field] of GROUPS) for (const [layer, a] of r[field] ?? []) out.set(`${name}.${layer}`, a);
  if (r.contacts !== undefined) out.set('contacts', r.contacts);
  if (r.logits !== undefined) out.set('logits', r.logits);
  return out;
}

/** Writes one sequence's file atomically. */
export function writeSequenceResult(path: string, format: OutputFormat, r: SequenceResult): void {
  if (format === 'pt') {
    const entries: [string, ResultValue][] = [['label', r.label]];
    for (const [name, field] of GROUPS) {
      const m = r[field];
      if (m !== undefined) entries.push([name, m]);
    }
    if (r.contacts !== undefined) entries.push(['contacts', r.contacts]);
    if (r.logits !== undefined) entries.push(['logits', r.logits]);
    writeResultPt(path, entries);
  } else if (format === 'safetensors') {
    writeSafetensors(path, flatArrays(r), { format: 'pt', label: r.label });
  } else {
    const members = [...flatArrays(r)].map(([name, a]) => ({ name: `${name}.npy`, data: encodeNpy(a) }));
    writeStreamedAtomic(path, (sink) => writeZip(sink, members));
  }
}

/**
 * The mean representation of `layer` stored in an existing result file, or null when the file
 * lacks it or cannot be read (the sequence is then computed again).
 */
export function readStoredMean(path: string, format: OutputFormat, layer: number): Float32Array | null {
  try {
    if (format === 'pt') {
      const top = readPt(path);
      const group = top instanceof Map ? top.get('mean_representations') : undefined;
      const v = group instanceof Map ? group.get(layer) : undefined;
      return isHostArray(v) && v.dtype === 'float32' ? (v.data as Float32Array) : null;
    }
    const name = `mean_representations.${layer}`;
    if (format === 'safetensors') {
      const reader = SafetensorsReader.open(path);
      try {
        if (!reader.names.includes(name)) return null;
        const a = reader.read(name);
        return a.dtype === 'float32' ? (a.data as Float32Array) : null;
      } finally {
        reader.close();
      }
    }
    return RandomAccessFile.with(path, configError, (file) => {
      const zip = ZipReader.open(file);
      const entry = zip.entry(`${name}.npy`);
      if (entry === undefined) return null;
      const a = parseNpy(zip.read(entry), `${path}:${name}.npy`);
      return a.dtype === 'float32' ? (a.data as Float32Array) : null;
    });
  } catch {
    return null;
  }
}

/** A float vector as a 1-D host array. */
export function vector(v: Float32Array): HostArray {
  return hostArray('float32', [v.length], v);
}
