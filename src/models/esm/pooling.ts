import { shapeError } from '../../errors.js';
import { hostArray, type HostArray } from '../../tensor/host-array.js';
import { fmtShape } from '../../tensor/shape.js';

/**
 * Per-sequence views of batched ESM outputs, as fair-esm's `scripts/extract.py` takes them
 * (spec §6): with `tl = min(truncation, len(raw sequence string))`, per-token representations
 * are positions 1 … tl, the mean is over those positions, the BOS vector is position 0 and
 * contacts are the block [:tl, :tl]. Like Python slicing, ranges stop at the end of the row.
 *
 * Dims: B batch, T tokens, E embed.
 */

/** `tl` of extract.py: residues kept for a raw sequence string (its length, capped by truncation). */
export function residueCount(sequence: string, truncation: number | null): number {
  return truncation === null ? sequence.length : Math.min(truncation, sequence.length);
}

function dims3(op: string, rep: HostArray, row: number): [number, number, number] {
  if (rep.shape.length !== 3 || rep.dtype !== 'float32') throw shapeError(op, `expected a float32 (B, T, E) array, got ${rep.dtype} ${fmtShape(rep.shape)}`);
  const [b, t, e] = rep.shape as [number, number, number];
  if (!Number.isInteger(row) || row < 0 || row >= b) throw shapeError(op, `row ${row} is outside the batch of ${b}`);
  return [b, t, e];
}

/** Positions 1 … tl of row `row` (clamped to the row): (tl, E). Also used for logits (E = V). */
export function residueRows(rep: HostArray, row: number, tl: number): HostArray {
  const [, t, e] = dims3('residueRows', rep, row);
  const n = Math.max(0, Math.min(tl, t - 1));
  const start = (row * t + 1) * e;
  return hostArray('float32', [n, e], (rep.data as Float32Array).slice(start, start + n * e));
}

/** Mean over positions 1 … tl of row `row` (accumulated in float64): (E). */
export function meanOverResidues(rep: HostArray, row: number, tl: number): Float32Array {
  const [, t, e] = dims3('meanOverResidues', rep, row);
  const n = Math.max(0, Math.min(tl, t - 1));
  const d = rep.data as Float32Array;
  const acc = new Float64Array(e);
  for (let p = 1; p <= n; p++) {
    const o = (row * t + p) * e;
    for (let j = 0; j < e; j++) acc[j] = (acc[j] as number) + (d[o + j] as number);
  }
  const out = new Float32Array(e);
  for (let j = 0; j < e; j++) out[j] = n === 0 ? NaN : (acc[j] as number) / n;
  return out;
}

/** Position 0 (BOS) of row `row`: (E). */
export function bosVector(rep: HostArray, row: number): Float32Array {
  const [, t, e] = dims3('bosVector', rep, row);
  return (rep.data as Float32Array).slice(row * t * e, row * t * e + e);
}

/** The block [:tl, :tl] of row `row` of contacts (B, T − 2, T − 2): (tl, tl). */
export function contactBlock(contacts: HostArray, row: number, tl: number): HostArray {
  const [, t] = dims3('contactBlock', contacts, row);
  const n = Math.max(0, Math.min(tl, t));
  const d = contacts.data as Float32Array;
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) out.set(d.subarray((row * t + i) * t, (row * t + i) * t + n), i * n);
  return hostArray('float32', [n, n], out);
}
