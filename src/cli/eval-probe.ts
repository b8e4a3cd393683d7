import type { Command } from 'commander';
import { join } from 'node:path';
import { configError } from '../errors.js';
import { writeFilesAtomic, toJsonText } from '../io/atomic-write.js';
import { DEFAULT_C_GRID } from '../eval/probe.js';
import { probeModels, type ProbeRow, type TaskFile } from '../eval/probe-models.js';
import { lowDataTable, probeTables } from '../eval/report-tables.js';
import { BarSet, loadModels, parseGrid, parsePoolings, parseTrainSizes, readTaskFile } from './eval-common.js';
import { parseIntFlag } from './flags.js';

/** Flags of `eval probe` (also the per-task settings of `eval report`). */
export interface ProbeFlags {
  train: string;
  valid: string;
  test?: string;
  extra?: string[];
  labels?: string;
  seqCol?: string;
  labelCol?: string;
  idCol?: string;
  pooling: string;
  layer: string;
  trainSizes: string;
  grid: string;
  seed: string;
  cache: string;
  composition: boolean;
  truncationSeqLength?: string;
  toksPerBatch: string;
  out?: string;
}

/** Reads the splits of a probe task: train, valid (chooses C), extra splits, test. */
export async function readProbeTask(o: Pick<ProbeFlags, 'train' | 'valid' | 'test' | 'extra' | 'labels' | 'seqCol' | 'labelCol' | 'idCol'>): Promise<{ train: TaskFile; evals: TaskFile[] }> {
  const cols = { ...(o.seqCol === undefined ? {} : { seqCol: o.seqCol }), ...(o.labelCol === undefined ? {} : { labelCol: o.labelCol }), ...(o.idCol === undefined ? {} : { idCol: o.idCol }) };
  const train = await readTaskFile('train', o.train, cols, o.labels);
  const evals = [await readTaskFile('valid', o.valid, cols, o.labels)];
  for (const e of o.extra ?? []) evals.push(await readTaskFile(null, e, cols, o.labels));
  if (o.test !== undefined) evals.push(await readTaskFile('test', o.test, cols, o.labels));
  const names = new Set<string>();
  for (const e of evals) {
    if (names.has(e.name)) throw configError(`two evaluation splits are both named '${e.name}' (${e.path}); rename one of the files`);
    names.add(e.name);
  }
  return { train, evals };
}

/** Runs a probe task with progress bars. */
export async function runProbeTask(models: ReturnType<typeof loadModels>, task: { train: TaskFile; evals: TaskFile[] }, o: ProbeFlags): Promise<ProbeRow[]> {
  const bars = new BarSet();
  try {
    return await probeModels(models, task.train, task.evals, {
      poolings: parsePoolings(o.pooling),
      layer: parseIntFlag('--layer', o.layer),
      trainSizes: parseTrainSizes(o.trainSizes),
      grid: parseGrid(o.grid),
      seed: parseIntFlag('--seed', o.seed, 0),
      composition: o.composition,
      cacheDir: o.cache,
      ...(o.truncationSeqLength === undefined ? {} : { truncationSeqLength: parseIntFlag('--truncation-seq-length', o.truncationSeqLength, 1) }),
      toksPerBatch: parseIntFlag('--toks-per-batch', o.toksPerBatch, 1),
      onEmbed: (what, p) => bars.extract(what, p),
      onEmbedDone: (what, cached) => {
        bars.stop();
        if (cached) process.stderr.write(`embeddings of ${what}: from the cache\n`);
      },
      onFit: (what, d, t) => bars.update(`fit ${what}`, `probe ${what}`, d, t),
    });
  } finally {
    bars.stop();
  }
}

/** Notes a reader needs under the tables: truncation and unseen labels. */
export function probeNotes(rows: readonly ProbeRow[]): string[] {
  const notes: string[] = [];
  for (const r of rows) {
    const cut = Object.entries(r.truncated).filter(([, n]) => n > 0);
    if (cut.length > 0 && r.pooling !== 'composition') notes.push(`${r.model}: sequences longer than ${r.truncation} residues were truncated to their first ${r.truncation} as extract does (${cut.map(([s, n]) => `${n} in ${s}`).join(', ')})`);
  }
  return [...new Set(notes)];
}

/** Registers `eval probe`. */
export function registerEvalProbe(ev: Command): void {
  ev.command('probe')
    .description('linear probes on frozen embeddings: standardised features, multinomial L2 logistic regression (scikit-learn C) chosen on --valid, accuracy and macro precision/recall/F1 per model, pooling and training size, with the composition floor (AAC + dipeptides)')
    .argument('[models...]', 'fair-esm .pt files or Hugging Face folders; NAME=PATH names a model in the tables')
    .requiredOption('--train <file>', 'labelled training set: TSV/CSV with a header, or FASTA with --labels')
    .requiredOption('--valid <file>', 'validation set: chooses C, reported')
    .option('--test <file>', 'test set, reported at the C chosen on --valid')
    .option('--extra <files...>', 'more evaluation sets reported at the chosen C (e.g. valid_lowid.tsv)')
    .option('--labels <file>', 'labels table for FASTA inputs (id column = FASTA label)')
    .option('--seq-col <name>', 'sequence column', 'sequence')
    .option('--label-col <name>', "label column (default 'label', or the one column besides id and sequence)")
    .option('--id-col <name>', "id column (default 'accession' when present; the first column of --labels)")
    .option('--pooling <list>', 'poolings: cls (the BOS token) and/or mean (over residues)', 'cls,mean')
    .option('--layer <n>', 'representation layer (negative counts from the end)', '-1')
    .option('--train-sizes <list>', "training sizes: integers (seeded stratified subsets) and/or 'all'", '100,1000,all')
    .option('--grid <list>', 'C grid (scikit-learn convention: inverse L2 strength)', DEFAULT_C_GRID.join(','))
    .option('--seed <n>', 'seed of the training subsets', '0')
    .option('--cache <dir>', 'embedding cache (per model, layer and file)', '.protdistil-cache/embeddings')
    .option('--no-composition', 'leave out the composition floor')
    .option('--truncation-seq-length <n>', 'residues kept per sequence (default: 1022, as extract)')
    .option('--toks-per-batch <n>', 'padded tokens per batch', '4096')
    .option('--out <dir>', 'write probe.json and probe.md there')
    .action(async (modelSpecs: string[], o: ProbeFlags) => {
      const t0 = performance.now();
      const task = await readProbeTask(o);
      const models = loadModels(modelSpecs);
      const rows = await runProbeTask(models, task, o);
      const md = [probeTables('probe', rows), lowDataTable('probe', rows), ...probeNotes(rows)].join('\n\n');
      console.log(md);
      console.log(`\nprobe of ${models.length} model(s)${o.composition ? ' and the composition floor' : ''} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      if (o.out !== undefined) {
        const json = { train: task.train.path, evals: task.evals.map((e) => ({ name: e.name, path: e.path, rows: e.rows.length })), rows };
        writeFilesAtomic([
          { path: join(o.out, 'probe.json'), data: toJsonText(json) },
          { path: join(o.out, 'probe.md'), data: `${md}\n` },
        ]);
        console.log(`wrote ${join(o.out, 'probe.json')} and probe.md`);
      }
    });
}
