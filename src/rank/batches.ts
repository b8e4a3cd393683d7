import { configError } from '../errors.js';
import type { Rng } from '../tensor/random.js';
import type { Embeddings } from './embeddings.js';

/**
 * Mini-batch row indices as a seeded stream of epochs: each epoch is a fresh permutation of all
 * rows, and batches run on across epoch boundaries, so every batch is full and the sequence
 * depends only on the seed (as a shuffled DataLoader iterated with `cycle`).
 */
export class BatchSampler {
  private perm: number[] = [];
  private pos = 0;

  constructor(private readonly rows: number, private readonly batch: number, private readonly rng: Rng) {
    if (!(Number.isInteger(rows) && rows > 0)) throw configError(`batch sampler: needs at least one row, got ${rows}`);
    if (!(Number.isInteger(batch) && batch > 0)) throw configError(`batch sampler: batch size must be a positive integer, got ${batch}`);
  }

  /** The next `batch` row indices. */
  next(): number[] {
    const out: number[] = [];
    while (out.length < this.batch) {
      if (this.pos >= this.perm.length) {
        this.perm = this.rng.shuffle(Array.from({ length: this.rows }, (_, i) => i));
        this.pos = 0;
      }
      out.push(this.perm[this.pos++] as number);
    }
    return out;
  }
}

/** Copies rows `index` of a row-major matrix with `dim` columns into `out` (length index·dim). */
export function gatherRows(data: Float32Array, dim: number, index: readonly number[], out: Float32Array): Float32Array {
  index.forEach((r, i) => out.set(data.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}

/** Rows of an embedding matrix as a batch buffer. */
export function gatherEmbeddings(m: Embeddings, index: readonly number[]): Float32Array {
  return gatherRows(m.data, m.dim, index, new Float32Array(index.length * m.dim));
}
