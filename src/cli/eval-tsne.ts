import type { Command } from 'commander';
import { configError } from '../errors.js';
import { writeFilesAtomic } from '../io/atomic-write.js';
import { tsneMaps, tsneSpec, type MapMethod } from '../eval/tsne-maps.js';
import { renderVegaLite, svgToPng } from '../report/render.js';
import { BarSet, loadModels, parsePoolings, readTaskFile } from './eval-common.js';
import { parseFloatFlag, parseIntFlag } from './flags.js';

interface TsneFlags {
  data: string;
  labels?: string;
  seqCol?: string;
  labelCol?: string;
  idCol?: string;
  pooling: string;
  layer: string;
  method: string;
  perplexity: string;
  neighbours: string;
  minDist: string;
  iterations: string;
  seed: string;
  maxPoints: string;
  cache: string;
  out: string;
}

/** Registers `eval tsne`. */
export function registerEvalTsne(ev: Command): void {
  ev.command('tsne')
    .description('deterministic 2-D t-SNE (or UMAP, --method umap) maps of each model\'s embeddings of a labelled file, one panel per model, coloured by label, as PNG + SVG')
    .argument('<models...>', 'fair-esm .pt files or Hugging Face folders; NAME=PATH names a model')
    .requiredOption('--data <file>', 'labelled TSV/CSV (or FASTA with --labels)')
    .option('--labels <file>', 'labels table for a FASTA --data')
    .option('--seq-col <name>', 'sequence column', 'sequence')
    .option('--label-col <name>', "label column (default 'label', or the one column besides id and sequence)")
    .option('--id-col <name>', 'id column')
    .option('--pooling <p>', 'cls or mean', 'cls')
    .option('--layer <n>', 'representation layer (negative counts from the end)', '-1')
    .option('--method <m>', "'tsne' or 'umap'", 'tsne')
    .option('--perplexity <x>', 't-SNE perplexity', '30')
    .option('--neighbours <k>', 'UMAP: neighbours of the k-NN graph', '15')
    .option('--min-dist <x>', 'UMAP: minimum distance between points in the map', '0.1')
    .option('--iterations <n>', 't-SNE gradient steps', '1000')
    .option('--seed <n>', 'seed of the initial map and of the subset', '0')
    .option('--max-points <n>', 'map a seeded stratified subset of at most this many rows', '1000')
    .option('--cache <dir>', 'embedding cache', '.protdistil-cache/embeddings')
    .option('--out <prefix>', 'writes PREFIX.png and PREFIX.svg', 'tsne')
    .action(async (specs: string[], o: TsneFlags) => {
      const pooling = parsePoolings(o.pooling);
      if (pooling.length !== 1) throw configError(`--pooling takes one pooling for maps, got '${o.pooling}'`);
      const cols = { ...(o.seqCol === undefined ? {} : { seqCol: o.seqCol }), ...(o.labelCol === undefined ? {} : { labelCol: o.labelCol }), ...(o.idCol === undefined ? {} : { idCol: o.idCol }) };
      if (o.method !== 'tsne' && o.method !== 'umap') throw configError(`--method must be 'tsne' or 'umap', got '${o.method}'`);
      const method: MapMethod = o.method;
      const file = await readTaskFile(null, o.data, cols, o.labels);
      const opts = {
        method,
        neighbours: parseIntFlag('--neighbours', o.neighbours, 2),
        minDist: parseFloatFlag('--min-dist', o.minDist),
        pooling: pooling[0] as 'cls' | 'mean',
        layer: parseIntFlag('--layer', o.layer),
        perplexity: parseFloatFlag('--perplexity', o.perplexity, 0),
        iterations: parseIntFlag('--iterations', o.iterations, 1),
        seed: parseIntFlag('--seed', o.seed, 0),
        maxPoints: parseIntFlag('--max-points', o.maxPoints, 3),
        cacheDir: o.cache,
      };
      const models = loadModels(specs);
      const bars = new BarSet();
      const maps = await tsneMaps(models, file, {
        ...opts,
        onEmbed: (what, p) => bars.extract(what, p),
        onStep: (what, s, t) => bars.update(`${method} ${what}`, `${method === 'tsne' ? 't-SNE' : 'UMAP'} ${what}`, s, t),
      }).finally(() => bars.stop());
      const settings = method === 'tsne' ? `perplexity ${opts.perplexity}` : `${opts.neighbours} neighbours, min. distance ${opts.minDist}`;
      const svg = await renderVegaLite(tsneSpec(maps, `${method === 'tsne' ? 't-SNE' : 'UMAP'} of ${file.name} (${opts.pooling}, ${settings}, seed ${opts.seed}, ${maps.rows.length} sequences)`));
      writeFilesAtomic([
        { path: `${o.out}.svg`, data: svg },
        { path: `${o.out}.png`, data: svgToPng(svg, { scale: 2 }) },
      ]);
      console.log(`${method === 'tsne' ? 't-SNE' : 'UMAP'} maps of ${maps.rows.length} sequences by ${models.length} model(s) -> ${o.out}.png, ${o.out}.svg`);
    });
}
