import { TSNE } from '@keckelt/tsne';
import { configError, dataError } from '../errors.js';
import { Rng } from '../tensor/random.js';

/**
 * Deterministic 2-D t-SNE maps (van der Maaten & Hinton, JMLR 2008) of embedding rows, by the
 * `@keckelt/tsne` package (a TypeScript port of Karpathy's tsnejs: exact affinities with a
 * perplexity search per point, gradient descent with gains and momentum, early exaggeration ×4 for
 * the first 100 steps). The package draws its initial solution from `Math.random`; here its
 * Gaussian source is replaced by protdistil's seeded generator, so a seed gives the same map.
 */

/** Options of {@link tsneMap}. */
export interface TsneOptions {
  /** Effective number of neighbours (default 30); must be below the number of points. */
  readonly perplexity?: number;
  /** Gradient steps (default 1000). */
  readonly iterations?: number;
  /** Learning rate (the package's epsilon, default 10). */
  readonly learningRate?: number;
  readonly seed?: number;
  readonly onStep?: (step: number, total: number) => void;
}

/** The package's instance surface used here (its typings mark the Gaussian source public). */
interface TsneInstance {
  gaussRandom: () => number;
  initDataRaw(x: number[][]): void;
  step(): number;
  getSolution(): number[][];
}

/** A (rows, 2) map of the rows of x (rows, dim), row-major. */
export function tsneMap(x: Float32Array, rows: number, dim: number, o: TsneOptions = {}): Float64Array {
  if (x.length !== rows * dim) throw dataError(`t-SNE: ${x.length} values are not ${rows} rows of ${dim}`);
  const perplexity = o.perplexity ?? 30;
  const iterations = o.iterations ?? 1000;
  if (rows < 3) throw dataError(`t-SNE needs at least 3 points, got ${rows}`);
  if (!(perplexity > 0 && perplexity < rows)) throw configError(`--perplexity must be > 0 and below the number of points (${rows}), got ${perplexity}`);
  if (!(Number.isInteger(iterations) && iterations >= 1)) throw configError(`t-SNE iterations must be a positive integer, got ${iterations}`);
  const rng = new Rng(o.seed ?? 0);
  const t = new TSNE({ dim: 2, perplexity, epsilon: o.learningRate ?? 10 }) as unknown as TsneInstance;
  t.gaussRandom = () => rng.normal();
  const data: number[][] = [];
  for (let r = 0; r < rows; r++) data.push(Array.from(x.subarray(r * dim, (r + 1) * dim)));
  t.initDataRaw(data);
  for (let s = 0; s < iterations; s++) {
    t.step();
    if ((s + 1) % 10 === 0 || s + 1 === iterations) o.onStep?.(s + 1, iterations);
  }
  const sol = t.getSolution();
  const out = new Float64Array(rows * 2);
  sol.forEach((p, r) => {
    out[2 * r] = p[0] as number;
    out[2 * r + 1] = p[1] as number;
  });
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i])) throw dataError('t-SNE diverged (non-finite coordinates); try a smaller learning rate');
  return out;
}
