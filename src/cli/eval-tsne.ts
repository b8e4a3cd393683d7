import type { Command } from 'commander';
import { configError } from '../errors.js';
import { writeFilesAtomic } from '../io/atomic-write.js';
import { tsneMaps, tsneSpec } from '../eval/tsne-maps.js';
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
  perplexity: string;
  iterations: string;
  seed: string;
  maxPoints: string;
  cache: string;
  out: string;
}

/** Registers `eval tsne`. */
export function registerEvalTsne(ev: Command): void {
  ev.command('tsne')
    .description('deterministic 2-D t-SNE maps of each model\'s embeddings of a labelled file, one panel per model, coloured by label, as PNG + SVG')
    .argument('<models...>', 'fair-esm .pt files or Hugging Face folders; NAME=PATH names a model')
    .requiredOption('--data <file>', 'labelled TSV/CSV (or FASTA with --labels)')
    .option('--labels <file>', 'labels table for a FASTA --data')
    .option('--seq-col <name>', 'sequence column', 'sequence')
    .option('--label-col <name>', "label column (default 'label', or the one column besides id and sequence)")
    .option('--id-col <name>', 'id column')
    .option('--pooling <p>', 'cls or mean', 'cls')
    .option('--layer <n>', 'representation layer (negative counts from the end)', '-1')
    .option('--perplexity <x>', 't-SNE perplexity', '30')
    .option('--iterations <n>', 'gradient steps', '1000')
    .option('--seed <n>', 'seed of the initial map and of the subset', '0')
    .option('--max-points <n>', 'map a seeded stratified subset of at most this many rows', '1000')
    .option('--cache <dir>', 'embedding cache', '.protdistil-cache/embeddings')
    .option('--out <prefix>', 'writes PREFIX.png and PREFIX.svg', 'tsne')
    .action(async (specs: string[], o: TsneFlags) => {
      const pooling = parsePoolings(o.pooling);
      if (pooling.length !== 1) throw configError(`--pooling takes one pooling for maps, got '${o.pooling}'`);
      const cols = { ...(o.seqCol === undefined ? {} : { seqCol: o.seqCol }), ...(o.labelCol === undefined ? {} : { labelCol: o.labelCol }), ...(o.idCol === undefined ? {} : { idCol: o.idCol }) };
      const file = await readTaskFile(null, o.data, cols, o.labels);
      const opts = {
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
        onStep: (what, s, t) => bars.update(`tsne ${what}`, `t-SNE ${what}`, s, t),
      }).finally(() => bars.stop());
      const svg = await renderVegaLite(tsneSpec(maps, `t-SNE of ${file.name} (${opts.pooling}, perplexity ${opts.perplexity}, seed ${opts.seed}, ${maps.rows.length} sequences)`));
      writeFilesAtomic([
        { path: `${o.out}.svg`, data: svg },
        { path: `${o.out}.png`, data: svgToPng(svg, { scale: 2 }) },
      ]);
      console.log(`t-SNE maps of ${maps.rows.length} sequences by ${models.length} model(s) -> ${o.out}.png, ${o.out}.svg`);
    });
}
