import type { TopLevelSpec } from 'vega-lite';
import { configError } from '../errors.js';
import { panelGrid } from '../report/charts.js';
import { scatterChart } from '../report/scatter-chart.js';
import { pooledEmbeddings, type Pooling } from './embedding-cache.js';
import type { ExtractProgress } from '../extract/pipeline.js';
import type { NamedModel, TaskFile } from './probe-models.js';
import { stratifiedSubset } from './probe.js';
import { tsneMap } from './tsne.js';
import { umapMap } from './umap.js';

/** How the 2-D maps are drawn. */
export type MapMethod = 'tsne' | 'umap';

/**
 * t-SNE (or UMAP) maps of several models' embeddings of one labelled file, one panel per model, coloured by
 * label (the same colours in every panel). Large files are cut to a seeded stratified subset.
 */

/** One model's map. */
export interface TsnePanel {
  readonly model: string;
  readonly pooling: Pooling;
  /** (rows, 2). */
  readonly points: Float64Array;
}

/** Maps of every model plus the rows and labels they show. */
export interface TsneMaps {
  /** Which embedding method drew the maps. */
  readonly method: MapMethod;
  readonly data: string;
  readonly rows: readonly number[];
  readonly labels: readonly string[];
  readonly panels: readonly TsnePanel[];
  readonly perplexity: number;
  readonly seed: number;
}

/** Options of {@link tsneMaps}. */
export interface TsneMapOptions {
  /** `tsne` (default) or `umap`. */
  readonly method?: MapMethod;
  /** UMAP: neighbours of the k-NN graph (default 15). */
  readonly neighbours?: number;
  /** UMAP: minimum distance in the map (default 0.1). */
  readonly minDist?: number;
  readonly pooling: Pooling;
  readonly layer: number;
  readonly perplexity: number;
  readonly iterations: number;
  readonly seed: number;
  readonly maxPoints: number;
  readonly cacheDir: string;
  readonly onEmbed?: (what: string, p: ExtractProgress) => void;
  readonly onStep?: (what: string, step: number, total: number) => void;
}

/** Embeds the file with each model (through the cache) and maps the (sub)set of rows. */
export async function tsneMaps(models: readonly NamedModel[], file: TaskFile, o: TsneMapOptions): Promise<TsneMaps> {
  const all = file.rows.map((r) => r.label);
  const rows = stratifiedSubset(all, o.maxPoints, o.seed);
  const labels = rows.map((r) => all[r] as string);
  const method = o.method ?? 'tsne';
  // Refuse bad settings before any embedding work.
  if (method === 'tsne' && !(o.perplexity > 0 && o.perplexity < rows.length)) throw configError(`--perplexity must be > 0 and below the number of points (${rows.length}), got ${o.perplexity}`);
  const neighbours = o.neighbours ?? 15;
  if (method === 'umap' && !(Number.isInteger(neighbours) && neighbours >= 2 && neighbours < rows.length)) throw configError(`--neighbours must be an integer >= 2 and below the number of points (${rows.length}), got ${neighbours}`);
  const panels: TsnePanel[] = [];
  for (const m of models) {
    const e = await pooledEmbeddings({ loaded: m.loaded, layer: o.layer, sequences: file.rows, source: file.path, cacheDir: o.cacheDir, onProgress: (p) => o.onEmbed?.(m.name, p) });
    const x = e[o.pooling];
    const sub = new Float32Array(rows.length * e.dim);
    rows.forEach((r, k) => sub.set(x.subarray(r * e.dim, (r + 1) * e.dim), k * e.dim));
    const onStep = (s: number, t: number): void => o.onStep?.(m.name, s, t);
    const points =
      method === 'tsne'
        ? tsneMap(sub, rows.length, e.dim, { perplexity: o.perplexity, iterations: o.iterations, seed: o.seed, onStep })
        : umapMap(sub, rows.length, e.dim, { neighbours, minDist: o.minDist ?? 0.1, seed: o.seed, onStep });
    panels.push({ model: m.name, pooling: o.pooling, points });
  }
  return { method, data: file.path, rows, labels, panels, perplexity: o.perplexity, seed: o.seed };
}

/** The figure: one panel per model, a shared colour legend. */
export function tsneSpec(maps: TsneMaps, title: string): TopLevelSpec {
  const domain = [...new Set(maps.labels)].sort();
  const specs = maps.panels.map((p, i) =>
    scatterChart({ title: `${p.model} (${p.pooling})`, points: p.points, labels: maps.labels, domain, legend: i === maps.panels.length - 1 }),
  );
  return panelGrid(specs, Math.min(3, Math.max(1, specs.length)), title);
}
