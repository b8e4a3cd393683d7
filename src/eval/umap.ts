import { UMAP } from 'umap-js';
import { configError, dataError } from '../errors.js';
import { Rng } from '../tensor/random.js';

/**
 * Deterministic 2-D UMAP maps (McInnes, Healy & Melville, 2018) of embedding rows, by the `umap-js`
 * package (PAIR's TypeScript implementation: approximate k-nearest neighbours by NN-descent, fuzzy
 * simplicial set, spectral-free random initialisation, SGD layout with negative sampling). Its
 * random source is protdistil's seeded generator, so a seed gives the same map.
 */

/** Options of {@link umapMap}. */
export interface UmapOptions {
  /** Neighbours of the k-NN graph (default 15); must be below the number of points. */
  readonly neighbours?: number;
  /** Minimum distance between points in the map (default 0.1). */
  readonly minDist?: number;
  /** Layout epochs (default: umap-js's choice, 500 for up to 10,000 points). */
  readonly epochs?: number;
  readonly seed?: number;
  readonly onStep?: (step: number, total: number) => void;
}

/** A (rows, 2) map of the rows of x (rows, dim), row-major. */
export function umapMap(x: Float32Array, rows: number, dim: number, o: UmapOptions = {}): Float64Array {
  if (x.length !== rows * dim) throw dataError(`UMAP: ${x.length} values are not ${rows} rows of ${dim}`);
  const neighbours = o.neighbours ?? 15;
  const minDist = o.minDist ?? 0.1;
  if (rows < 3) throw dataError(`UMAP needs at least 3 points, got ${rows}`);
  if (!(Number.isInteger(neighbours) && neighbours >= 2 && neighbours < rows)) throw configError(`--neighbours must be an integer >= 2 and below the number of points (${rows}), got ${neighbours}`);
  if (!(minDist >= 0 && minDist <= 1)) throw configError(`--min-dist must lie in [0, 1], got ${minDist}`);
  if (o.epochs !== undefined && !(Number.isInteger(o.epochs) && o.epochs >= 1)) throw configError(`UMAP epochs must be a positive integer, got ${o.epochs}`);
  const rng = new Rng(o.seed ?? 0);
  const u = new UMAP({ nComponents: 2, nNeighbors: neighbours, minDist, random: () => rng.uniform(), ...(o.epochs === undefined ? {} : { nEpochs: o.epochs }) });
  const data: number[][] = [];
  for (let r = 0; r < rows; r++) data.push(Array.from(x.subarray(r * dim, (r + 1) * dim)));
  const epochs = u.initializeFit(data);
  for (let s = 0; s < epochs; s++) {
    u.step();
    if ((s + 1) % 10 === 0 || s + 1 === epochs) o.onStep?.(s + 1, epochs);
  }
  const out = new Float64Array(rows * 2);
  u.getEmbedding().forEach((p, r) => {
    out[2 * r] = p[0] as number;
    out[2 * r + 1] = p[1] as number;
  });
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i])) throw dataError('UMAP produced non-finite coordinates');
  return out;
}
