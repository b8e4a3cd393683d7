import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { configError, dataError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { readPtTensor } from '../io/pt-reader.js';
import { writePt } from '../io/pt-writer.js';
import { SafetensorsReader, writeSafetensors } from '../io/safetensors.js';
import { hostArray, type HostArray } from '../tensor/host-array.js';
import type { Shard } from './shard.js';

/**
 * Stacked embeddings: one `[num_sequences, E]` float32 matrix in FASTA order plus a labels file
 * (one label per line, same order), the input Distil-Rank reads. The format follows the file
 * extension: `.pt` (a tensor `torch.load` returns), `.npy`, or `.safetensors` (one tensor named
 * `embeddings`). Shards write `<stem>.shard-<i>-of-<n><ext>`; `mergeStacks` joins them in order.
 */

/** Stacked-matrix formats, chosen by extension. */
export type StackFormat = 'pt' | 'npy' | 'safetensors';
const BY_EXT: Readonly<Record<string, StackFormat>> = { '.pt': 'pt', '.pth': 'pt', '.npy': 'npy', '.safetensors': 'safetensors' };
/** Tensor name inside a stacked `.safetensors` file. */
export const STACK_TENSOR = 'embeddings';

/** The format of a stack path, from its extension. */
export function stackFormatOf(path: string): StackFormat {
  const f = BY_EXT[extname(path).toLowerCase()];
  if (f === undefined) throw configError(`${path}: a stacked output must end in .pt, .npy or .safetensors`);
  return f;
}

/** `emb.npy` -> `emb.labels.txt`. */
export function labelsPath(path: string): string {
  return join(dirname(path), `${basename(path, extname(path))}.labels.txt`);
}

/** `emb.npy` with shard 2 of 4 -> `emb.shard-2-of-4.npy` (the path itself without sharding). */
export function shardedPath(path: string, shard: Shard | null): string {
  if (shard === null) return path;
  const ext = extname(path);
  return join(dirname(path), `${basename(path, ext)}.shard-${shard.index}-of-${shard.count}${ext}`);
}

/** Writes the matrix and its labels file. */
export function writeStack(path: string, matrix: HostArray, labels: readonly string[]): void {
  if (matrix.shape.length !== 2 || matrix.shape[0] !== labels.length) {
    throw dataError(`writeStack: ${labels.length} labels for a matrix of shape [${matrix.shape.join(', ')}]`);
  }
  const format = stackFormatOf(path);
  if (format === 'pt') writePt(path, matrix);
  else if (format === 'npy') writeNpy(path, matrix);
  else writeSafetensors(path, new Map([[STACK_TENSOR, matrix]]), { format: 'pt' });
  writeFileAtomic(labelsPath(path), labels.length === 0 ? '' : `${labels.join('\n')}\n`);
}

/** Reads a stacked matrix and its labels, checking that they agree. */
export function readStack(path: string): { matrix: HostArray; labels: string[] } {
  const format = stackFormatOf(path);
  let matrix: HostArray;
  if (format === 'pt') matrix = readPtTensor(path, { rank: 2 });
  else if (format === 'npy') matrix = readNpy(path);
  else {
    const r = SafetensorsReader.open(path);
    try {
      matrix = r.read(r.names.includes(STACK_TENSOR) ? STACK_TENSOR : (r.names[0] ?? STACK_TENSOR));
    } finally {
      r.close();
    }
  }
  if (matrix.shape.length !== 2 || matrix.dtype !== 'float32') throw dataError(`${path}: expected a float32 [N, E] matrix, got ${matrix.dtype} [${matrix.shape.join(', ')}]`);
  let text: string;
  try {
    text = readFileSync(labelsPath(path), 'utf8');
  } catch (e) {
    throw dataError(`${path}: its labels file ${labelsPath(path)} cannot be read: ${(e as Error).message}`, e);
  }
  const labels = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  if (labels.length !== matrix.shape[0]) throw dataError(`${labelsPath(path)} has ${labels.length} labels for ${matrix.shape[0]} rows in ${path}`);
  return { matrix, labels };
}

/** The shard files of `out` found beside it (`<stem>.shard-<i>-of-<n><ext>`), in shard order; all n must be present. */
export function findShardStacks(out: string): string[] {
  const dir = dirname(out);
  const ext = extname(out);
  const stem = basename(out, ext);
  const re = new RegExp(`^${escapeRe(stem)}\\.shard-(\\d+)-of-(\\d+)${escapeRe(ext)}$`);
  const found = new Map<number, Map<number, string>>();
  for (const name of readdirSync(dir)) {
    const m = re.exec(name);
    if (m === null) continue;
    const n = Number(m[2]);
    const byIndex = found.get(n) ?? new Map<number, string>();
    byIndex.set(Number(m[1]), join(dir, name));
    found.set(n, byIndex);
  }
  if (found.size === 0) throw configError(`no shard files ${stem}.shard-<i>-of-<n>${ext} in ${dir}`);
  if (found.size > 1) throw configError(`shard files of different counts (${[...found.keys()].join(', ')}) for ${out}; remove the stale ones`);
  const [n, byIndex] = [...found][0] as [number, Map<number, string>];
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length > 0) throw configError(`shards ${missing.join(', ')} of ${n} are missing for ${out}`);
  return Array.from({ length: n }, (_, i) => byIndex.get(i + 1) as string);
}

/** Concatenates shard stacks (in the given order) into `out` with its labels file. */
export function mergeStacks(out: string, shards: readonly string[]): { rows: number; dim: number } {
  if (shards.length === 0) throw configError('merge: no shard files');
  const parts = shards.map((p) => ({ path: p, ...readStack(p) }));
  const dim = parts[0]!.matrix.shape[1] as number;
  for (const p of parts) {
    if (p.matrix.shape[1] !== dim) throw dataError(`merge: ${p.path} has ${p.matrix.shape[1]} columns, ${parts[0]!.path} has ${dim}`);
  }
  const rows = parts.reduce((a, p) => a + (p.matrix.shape[0] as number), 0);
  const data = new Float32Array(rows * dim);
  const labels: string[] = [];
  let at = 0;
  for (const p of parts) {
    data.set(p.matrix.data as Float32Array, at);
    at += p.matrix.data.length;
    labels.push(...p.labels);
  }
  const seen = new Set<string>();
  for (const l of labels) {
    if (seen.has(l)) throw dataError(`merge: label ${JSON.stringify(l)} appears in more than one shard (were shards of different FASTA files mixed?)`);
    seen.add(l);
  }
  writeStack(out, hostArray('float32', [rows, dim], data), labels);
  return { rows, dim };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
