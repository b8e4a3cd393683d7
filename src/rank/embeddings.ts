import { statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { configError, dataError, isProtdistilError, ProtdistilError } from '../errors.js';
import { readNpy } from '../io/npy.js';
import { describePt, isHostArray, readPt } from '../io/pt-reader.js';
import { SafetensorsReader } from '../io/safetensors.js';
import type { HostArray } from '../tensor/host-array.js';
import type { Rng } from '../tensor/random.js';

/**
 * Per-protein embedding matrices: N proteins x D features, float32, row-major. Read from the
 * formats PLM pipelines write — `torch.save` of a 2-D tensor (.pt/.pth, read by a restricted
 * unpickler that only rebuilds tensors), NumPy .npy, or a .safetensors file — and checked before
 * any numeric work: exactly 2-D, floating point, at least one row and column, all finite.
 */
export interface Embeddings {
  readonly rows: number;
  readonly dim: number;
  readonly data: Float32Array;
}

/** The file names the original benchmark looks for in the working directory (real-data mode without flags). */
export const DEFAULT_TRAIN_FILE = 'embeddings_train.pt';
export const DEFAULT_VAL_FILE = 'embeddings_val.pt';

/** `embeddings_train.pt` and `embeddings_val.pt` in `dir` when both exist as files, else null. */
export function defaultEmbeddingFiles(dir: string): { train: string; val: string } | null {
  const isFile = (p: string): boolean => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  const train = join(dir, DEFAULT_TRAIN_FILE);
  const val = join(dir, DEFAULT_VAL_FILE);
  return isFile(train) && isFile(val) ? { train, val } : null;
}

/** File formats by extension. */
const FORMATS = { '.pt': 'pt', '.pth': 'pt', '.npy': 'npy', '.safetensors': 'safetensors' } as const;

/** Reads and checks an embedding file; `flag` (e.g. `--train`) prefixes every error. */
export function readEmbeddings(path: string, options: { tensor?: string; flag?: string } = {}): Embeddings {
  const flag = options.flag ?? 'embeddings';
  const format = FORMATS[extname(path).toLowerCase() as keyof typeof FORMATS];
  if (format === undefined) {
    throw configError(`${flag}: ${path}: unknown embedding file type '${extname(path) || '(none)'}' (supported: ${Object.keys(FORMATS).join(', ')})`);
  }
  if (options.tensor !== undefined && format !== 'safetensors') {
    throw configError(`${flag}: ${path}: --tensor names a tensor inside a .safetensors file, but this is a ${format} file`);
  }
  let array: HostArray;
  try {
    array = format === 'npy' ? readNpy(path) : format === 'pt' ? readPtEmbeddings(path) : readSafetensorsEmbeddings(path, options.tensor);
  } catch (e) {
    if (isProtdistilError(e)) throw new ProtdistilError(e.code, `${flag}: ${e.message}`, { cause: e });
    throw e;
  }
  return checkEmbeddings(array, `${flag}: ${path}`);
}

/** Checks shape, dtype and values of a host array and returns it as an embedding matrix. */
export function checkEmbeddings(array: HostArray, what: string): Embeddings {
  if (array.shape.length !== 2) {
    throw dataError(`${what}: expected a 2-D tensor (proteins x embedding dim), got shape [${array.shape.join(', ')}] (${array.shape.length}-D)`);
  }
  const [rows, dim] = array.shape as [number, number];
  if (array.dtype !== 'float32') throw dataError(`${what}: expected floating-point embeddings, got ${array.dtype}`);
  if (rows === 0 || dim === 0) throw dataError(`${what}: empty embedding matrix (shape [${rows}, ${dim}])`);
  const data = array.data as Float32Array;
  let bad = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i] as number)) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad > 0) {
    throw dataError(`${what}: ${bad} non-finite value(s); the first is ${data[first]} at row ${Math.floor(first / dim)}, column ${first % dim}`);
  }
  return { rows, dim, data };
}

function readPtEmbeddings(path: string): HostArray {
  const value = readPt(path);
  if (!isHostArray(value)) throw dataError(`${path}: expected a single tensor saved with torch.save, found ${describePt(value)}`);
  return value;
}

function readSafetensorsEmbeddings(path: string, tensor: string | undefined): HostArray {
  const reader = SafetensorsReader.open(path);
  try {
    const names = reader.names;
    if (tensor !== undefined) return reader.read(tensor);
    if (names.length === 1) return reader.read(names[0] as string);
    const shown = names.slice(0, 8).map((n) => `'${n}'`).join(', ');
    throw configError(`${path}: holds ${names.length} tensors (${shown}${names.length > 8 ? ', …' : ''}); name one with --tensor`);
  } finally {
    reader.close();
  }
}

/** Rows `index` of a matrix, in that order. */
export function selectRows(m: Embeddings, index: readonly number[]): Embeddings {
  const out = new Float32Array(index.length * m.dim);
  index.forEach((r, i) => out.set(m.data.subarray(r * m.dim, (r + 1) * m.dim), i * m.dim));
  return { rows: index.length, dim: m.dim, data: out };
}

/**
 * A seeded hold-out split: a random `fraction` of the rows (at least one) becomes validation and
 * the rest (at least one) training; both keep the original row order.
 */
export function holdOutSplit(m: Embeddings, fraction: number, rng: Rng): { train: Embeddings; val: Embeddings; valIndex: number[] } {
  if (m.rows < 2) throw dataError(`cannot hold out validation rows from ${m.rows} row(s); give --val or more data`);
  const nVal = Math.min(m.rows - 1, Math.max(1, Math.round(m.rows * fraction)));
  const perm = rng.shuffle(Array.from({ length: m.rows }, (_, i) => i));
  const valIndex = perm.slice(0, nVal).sort((a, b) => a - b);
  const isVal = new Uint8Array(m.rows);
  for (const i of valIndex) isVal[i] = 1;
  const trainIndex = Array.from({ length: m.rows }, (_, i) => i).filter((i) => isVal[i] === 0);
  return { train: selectRows(m, trainIndex), val: selectRows(m, valIndex), valIndex };
}

/** Column means in float64. */
export function columnMeans(m: Embeddings): Float64Array {
  const mean = new Float64Array(m.dim);
  for (let r = 0; r < m.rows; r++) {
    const o = r * m.dim;
    for (let j = 0; j < m.dim; j++) mean[j] = (mean[j] as number) + (m.data[o + j] as number);
  }
  for (let j = 0; j < m.dim; j++) mean[j] = (mean[j] as number) / m.rows;
  return mean;
}
