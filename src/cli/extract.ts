import { Option, type Command } from 'commander';
import { configError } from '../errors.js';
import { extractEmbeddings, INCLUDE_KINDS, type IncludeKind } from '../extract/pipeline.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../extract/result-files.js';
import { parseShard } from '../extract/shard.js';
import { findShardStacks, labelsPath, mergeStacks } from '../extract/stack.js';
import { loadEsm } from '../io/esm/load.js';
import { OnnxEsmModel } from '../extract/onnx-model.js';
import { parseIntFlag } from './flags.js';
import { progressBar } from './progress.js';

/**
 * `protdistil extract MODEL FASTA OUTPUT_DIR`: fair-esm's `scripts/extract.py` workflow (same
 * defaults, one file per sequence, negative layer indices from the end) plus output formats,
 * resumable runs, index-range shards and a stacked `[N, E]` matrix for Distil-Rank;
 * `protdistil merge OUT`: joins the stacked outputs of shards.
 */

interface ExtractFlags {
  reprLayers?: string[];
  repr_layers?: string[];
  include?: string[];
  truncationSeqLength?: string;
  truncation_seq_length?: string;
  toksPerBatch?: string;
  toks_per_batch?: string;
  format: string;
  shard?: string;
  stack?: string;
  layer?: string;
  out?: string;
  unknownAsUnk?: boolean;
}

function intList(flag: string, values: readonly string[]): number[] {
  return values.flatMap((v) => v.split(',')).filter((v) => v.trim() !== '').map((v) => parseIntFlag(flag, v));
}

/** Registers `extract` and `merge`. */
export function registerExtract(program: Command): void {
  program
    .command('extract')
    .description('extract ESM representations (fair-esm extract.py workflow): one file per FASTA record in OUTPUT_DIR; existing files are skipped, so interrupted runs resume')
    .argument('<model>', 'fair-esm .pt checkpoint (its -contact-regression.pt beside it is used when present), Hugging Face directory (config.json + model.safetensors), or a model.onnx written by protdistil (final layer and logits only); nothing is downloaded')
    .argument('<fasta>', 'FASTA file (plain or .gz)')
    .argument('<output_dir>', 'directory for the per-sequence files')
    .option('--repr-layers <layers...>', 'representation layers (0 = embeddings; negative count from the end)', ['-1'])
    .option('--include <kinds...>', `what each file holds: ${INCLUDE_KINDS.join(' ')}`, ['mean'])
    .option('--truncation-seq-length <n>', 'residues kept per sequence (BOS and EOS are added)', '1022')
    .option('--toks-per-batch <n>', 'padded tokens per batch', '4096')
    .option('--format <format>', `per-sequence file format: ${OUTPUT_FORMATS.join(', ')} (npy writes a NumPy .npz)`, 'pt')
    .option('--shard <i/n>', 'process only the i-th of n contiguous index ranges (1-based)')
    .option('--stack <kind>', "also write one [num_sequences, E] matrix in FASTA order (kind: 'mean') with a labels file")
    .option('--layer <n>', 'layer of the stacked matrix', '-1')
    .option('--out <file>', 'stacked matrix path (.pt, .npy or .safetensors); shards add .shard-<i>-of-<n>')
    .option('--unknown-as-unk', 'map characters outside the ESM alphabet to <unk> instead of failing (Hugging Face behaviour)')
    .addOption(new Option('--repr_layers <layers...>').hideHelp())
    .addOption(new Option('--truncation_seq_length <n>').hideHelp())
    .addOption(new Option('--toks_per_batch <n>').hideHelp())
    .addOption(new Option('--nogpu', 'accepted for fair-esm compatibility (protdistil picks its device itself)').hideHelp())
    .action(async (modelPath: string, fasta: string, outDir: string, o: ExtractFlags) => {
      const format = o.format as OutputFormat;
      if (!OUTPUT_FORMATS.includes(format)) throw configError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}, got '${o.format}'`);
      const include = (o.include ?? []).flatMap((v) => v.split(',')).filter((v) => v !== '');
      for (const k of include) if (!INCLUDE_KINDS.includes(k as IncludeKind)) throw configError(`--include: unknown kind '${k}' (allowed: ${INCLUDE_KINDS.join(', ')})`);
      if (o.stack !== undefined && o.stack !== 'mean') throw configError(`--stack: only 'mean' is supported, got '${o.stack}'`);
      if (o.stack !== undefined && o.out === undefined) throw configError('--stack needs --out FILE (.pt, .npy or .safetensors)');
      if (o.stack === undefined && o.out !== undefined) throw configError('--out is the path of the stacked matrix: give --stack mean too');
      const reprLayers = intList('--repr-layers', o.repr_layers ?? o.reprLayers ?? ['-1']);
      if (reprLayers.length === 0) throw configError('--repr-layers needs at least one layer');
      const truncation = parseIntFlag('--truncation-seq-length', o.truncation_seq_length ?? o.truncationSeqLength, 1);
      const toksPerBatch = parseIntFlag('--toks-per-batch', o.toks_per_batch ?? o.toksPerBatch, 1);
      const shard = o.shard === undefined ? null : parseShard(o.shard);
      const stack = o.stack === undefined ? null : { layer: parseIntFlag('--layer', o.layer), out: o.out as string };

      const loaded = modelPath.endsWith('.onnx') ? null : loadEsm(modelPath);
      const model = loaded === null ? OnnxEsmModel.load(modelPath) : loaded.model;
      const c = model.config;
      process.stderr.write(`model: ${c.arch === 'esm2' ? 'ESM-2' : 'ESM-1b'}, ${c.numLayers} layers, embed dim ${c.embedDim}, ${c.attentionHeads} heads (${loaded === null ? 'onnx' : loaded.format} ${modelPath})\n`);
      for (const n of loaded?.notes ?? []) if (!(n.startsWith('no contact') && !include.includes('contacts')) && !n.startsWith('lm_head.decoder')) process.stderr.write(`note: ${n}\n`);
      let bar: ReturnType<typeof progressBar> | null = null;
      const summary = await extractEmbeddings(model, fasta, outDir, {
        reprLayers,
        include: include as IncludeKind[],
        truncationSeqLength: truncation,
        toksPerBatch,
        format,
        shard,
        stack,
        unknown: o.unknownAsUnk === true ? 'unk' : 'error',
        onProgress: (p) => {
          bar ??= progressBar('extract', p.total, '{seqps} seq/s | {tokps} tok/s');
          const s = Math.max(p.elapsedMs, 1) / 1000;
          bar.update(p.done, { seqps: ((p.done - p.skipped) / s).toFixed(1), tokps: (p.tokens / s).toFixed(0) });
        },
      });
      (bar as ReturnType<typeof progressBar> | null)?.stop();
      const secs = summary.elapsedMs / 1000;
      const range = shard === null ? '' : ` (shard ${shard.index}/${shard.count}: records ${summary.start}..${summary.end - 1} of ${summary.records})`;
      console.log(
        `extracted ${summary.computed} sequence(s), skipped ${summary.skipped} already present${range} in ${secs.toFixed(1)} s: ` +
          `${(summary.computed / secs).toFixed(1)} seq/s, ${(summary.tokens / secs).toFixed(0)} tok/s -> ${outDir}`,
      );
      if (summary.stack !== null) console.log(`stacked ${summary.end - summary.start} x ${c.embedDim} mean representations -> ${summary.stack.path} (labels ${summary.stack.labels})`);
    });

  program
    .command('merge')
    .description('join the stacked matrices of `extract --shard i/n --stack mean --out OUT` runs into OUT (and its labels file), in shard order')
    .argument('<out>', 'the --out path the shards were given (.pt, .npy or .safetensors)')
    .argument('[shards...]', 'shard files in order (default: every OUT-stem.shard-<i>-of-<n> file beside OUT)')
    .action((out: string, shards: string[]) => {
      const list = shards.length > 0 ? shards : findShardStacks(out);
      const { rows, dim } = mergeStacks(out, list);
      console.log(`merged ${list.length} shard(s): ${rows} x ${dim} -> ${out} (labels ${labelsPath(out)})`);
    });
}
