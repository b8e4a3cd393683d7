import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readTokenSet } from '../compress/calibration-set.js';
import { compressEsm } from '../compress/compress.js';
import { distillCompressed, type CompressDistillResult } from '../compress/distill.js';
import { perplexityPair, representationAgreement, safetensorsSize, throughput } from '../compress/evaluate.js';
import type { FactorMethod } from '../compress/projection-fit.js';
import type { RankPolicy } from '../compress/rank-policy.js';
import { renderCompressPng, reportJson, reportMarkdown, REPORT_JSON, REPORT_MD, REPORT_PNG, type CompressReport } from '../compress/report.js';
import { loadSequenceSet } from '../data/sequence-set.js';
import { configError } from '../errors.js';
import { fileDataBytes, toJsonText, writeFilesAtomic, type FileEntry } from '../io/atomic-write.js';
import { hfEsmFiles } from '../io/esm/hf-writer.js';
import { loadEsm } from '../io/esm/load.js';
import { exportEsmOnnxFiles, onnxFileEntries } from '../models/esm/onnx.js';
import { runtimeOptions } from '../runtime/program.js';
import { parseFloatFlag, parseIntFlag } from './flags.js';
import { progressBar, type Progress } from './progress.js';

/**
 * `protdistil compress MODEL --fasta CALIB.fasta --out DIR`: data-aware low-rank compression of
 * every projection of an ESM model (src/compress). DIR receives the compressed model as a Hugging
 * Face directory (config.json lists the factored projections; `extract DIR …` loads it), its ONNX
 * export and compress_report.json/.md/.png — all written together at the end, nothing on failure.
 */

interface CompressFlags {
  fasta?: string;
  out?: string;
  rank?: string;
  targetCosine?: string;
  paramsFraction?: string;
  method: string;
  maxTokens: string;
  calibrationMaskProb: string;
  truncationSeqLength: string;
  toksPerBatch: string;
  sampleRows: string;
  valid?: string;
  validSequences: string;
  validMaxTokens: string;
  speedShapes: string;
  speedRepeats: string;
  seed: string;
  distillSteps?: string;
  distillLr: string;
  distillLambda: string;
  distillTemperature: string;
  distillBatchSize: string;
  distillCrop: string;
}

/** Registers `compress`. */
export function registerCompress(program: Command): void {
  program
    .command('compress')
    .description('low-rank compression of every projection of an ESM model (q/k/v/out, fc1/fc2, LM-head dense) by the exact data-aware closed form, calibrated layer by layer on a FASTA file')
    .argument('<model>', 'fair-esm .pt checkpoint or Hugging Face directory')
    .option('--fasta <file>', 'calibration sequences (FASTA, plain or .gz); the first records up to --max-tokens are used')
    .option('--out <dir>', 'output directory (must not exist or be empty): compressed model (Hugging Face layout), model.onnx, compress_report.json/.md/.png')
    .option('--rank <r>', 'the same rank for every projection (1 <= r < min(d_in, d_out)); projections it would not shrink stay dense')
    .option('--target-cosine <x>', 'per projection, the smallest rank whose output cosine on the calibration inputs reaches x (0 < x <= 1)')
    .option('--params-fraction <f>', 'keep at most this fraction of the projection parameters, ranks allocated greedily by fidelity lost per parameter saved (0 < f < 1)')
    .option('--method <m>', "factors at the chosen ranks: 'closed-form' (data-aware, exact optimum for the calibration inputs) or 'weight-svd' (truncated SVD of the weights; the data-free baseline at the same ranks)", 'closed-form')
    .option('--max-tokens <n>', 'calibration tokens (BOS/EOS included)', '50000')
    .option('--calibration-mask-prob <p>', 'fraction of calibration residues replaced by <mask> (seeded by --seed), so masked-LM inputs are calibrated too (0: sequences as they are)', '0.15')
    .option('--truncation-seq-length <n>', 'residues kept per sequence', '1022')
    .option('--toks-per-batch <n>', 'padded tokens per forward batch', '4096')
    .option('--sample-rows <n>', 'calibration rows per projection for output cosines', '2048')
    .option('--valid <file>', 'held-out FASTA: masked perplexity (pure masking) and representation agreement before/after (default: agreement on the calibration set, no perplexity)')
    .option('--valid-sequences <n>', 'sequences of --valid used for perplexity', '300')
    .option('--valid-max-tokens <n>', 'tokens of --valid used for representation agreement', '50000')
    .option('--speed-shapes <list>', "forward throughput batch shapes, BxT comma-separated ('none' to skip)", '1x256,16x256')
    .option('--speed-repeats <n>', 'timed forward runs per shape and model (median)', '5')
    .option('--seed <n>', 'seed of the perplexity mask draws, the throughput tokens and the distillation data', '0')
    .option('--distill-steps <n>', "after compression, distil the original into the compressed model for n steps with train's loss on the calibration sequences")
    .option('--distill-lr <x>', 'distillation peak learning rate (AdamW, linear warm-up and decay)', '1e-4')
    .option('--distill-lambda <x>', 'distillation: weight of the KL term (1 - lambda on the masked-LM loss)', '0.5')
    .option('--distill-temperature <T>', 'distillation temperature', '1')
    .option('--distill-batch-size <n>', 'distillation sequences per batch', '16')
    .option('--distill-crop <n>', 'distillation: residues per sequence (random window)', '256')
    .action(async (modelPath: string, o: CompressFlags) => {
      const t0 = performance.now();
      if (o.fasta === undefined) throw configError('compress needs --fasta CALIB.fasta (calibration sequences)');
      if (o.out === undefined) throw configError('compress needs --out DIR');
      const policy = parsePolicy(o);
      if (o.method !== 'closed-form' && o.method !== 'weight-svd') throw configError(`--method must be 'closed-form' or 'weight-svd', got '${o.method}'`);
      const method: FactorMethod = o.method;
      checkEmptyDir(o.out);
      const maxTokens = parseIntFlag('--max-tokens', o.maxTokens, 1);
      const truncation = parseIntFlag('--truncation-seq-length', o.truncationSeqLength, 1);
      const toksPerBatch = parseIntFlag('--toks-per-batch', o.toksPerBatch, 1);
      const sampleRows = parseIntFlag('--sample-rows', o.sampleRows, 1);
      const shapes = parseShapes(o.speedShapes);
      const repeats = parseIntFlag('--speed-repeats', o.speedRepeats, 0);
      const seed = parseIntFlag('--seed', o.seed, 0);
      const validSequences = parseIntFlag('--valid-sequences', o.validSequences, 1);
      const validMaxTokens = parseIntFlag('--valid-max-tokens', o.validMaxTokens, 1);

      const original = loadEsm(modelPath);
      const c = original.config;
      process.stderr.write(`model: ${c.arch === 'esm2' ? 'ESM-2' : 'ESM-1b'}, ${c.numLayers} layers, embed dim ${c.embedDim}, FFN ${c.ffnDim} (${original.format} ${original.path})\n`);
      const work = loadEsm(modelPath).model;
      const calibrationMaskProb = parseFloatFlag('--calibration-mask-prob', o.calibrationMaskProb);
      const calib = await readTokenSet(o.fasta, { maxTokens, truncationSeqLength: truncation, toksPerBatch, maskProb: calibrationMaskProb, seed });
      process.stderr.write(`calibration: ${calib.tokens} tokens in ${calib.sequences} sequences, ${calib.batches.length} batches\n`);
      let bar: Progress | null = null;
      let phase = '';
      const result = await compressEsm(work, calib, {
        policy,
        method,
        sampleRows,
        onProgress: (p, done, total, label) => {
          if (p !== phase) {
            bar?.stop();
            bar = progressBar(p === 'spectra' ? 'spectra ' : 'compress', total, '{site}');
            phase = p;
          }
          bar?.update(done, { site: label });
        },
      });
      (bar as Progress | null)?.stop();

      let distill: CompressDistillResult | null = null;
      if (o.distillSteps !== undefined) {
        const steps = parseIntFlag('--distill-steps', o.distillSteps, 1);
        const lambda = parseFloatFlag('--distill-lambda', o.distillLambda, -Infinity);
        if (!(lambda >= 0 && lambda <= 1)) throw configError(`--distill-lambda must lie in [0, 1], got '${o.distillLambda}'`);
        const dbar = progressBar('distill ', steps, 'loss {loss}');
        distill = await distillCompressed(work, original.model, await loadSequenceSet(o.fasta), {
          steps,
          lr: parseFloatFlag('--distill-lr', o.distillLr, 0),
          lambda,
          temperature: parseFloatFlag('--distill-temperature', o.distillTemperature, 0),
          batchSize: parseIntFlag('--distill-batch-size', o.distillBatchSize, 1),
          crop: parseIntFlag('--distill-crop', o.distillCrop, 1),
          seed,
          onStep: (k, loss) => dbar.update(k, { loss: loss.toFixed(4) }),
        }).finally(() => dbar.stop());
        process.stderr.write(`distilled ${distill.steps} steps: loss ${distill.firstLoss.toFixed(4)} -> ${distill.lastLoss.toFixed(4)}\n`);
      }

      process.stderr.write('measuring: representation agreement, perplexity, throughput\n');
      // Agreement is measured on sequences as they are: the calibration set is reused only when unmasked.
      const agreementSet = o.valid === undefined && calibrationMaskProb === 0 ? calib : await readTokenSet(o.valid ?? o.fasta, { maxTokens: o.valid === undefined ? maxTokens : validMaxTokens, truncationSeqLength: truncation, toksPerBatch });
      const agreement = { ...(await representationAgreement(original.model, work, agreementSet)), set: o.valid === undefined ? `calibration set ${o.fasta}` : o.valid };
      let perplexity: CompressReport['perplexity'] = null;
      if (o.valid !== undefined) {
        const vset = await loadSequenceSet(o.valid, { limit: validSequences });
        perplexity = { set: `${o.valid} (first ${vset.ids.length} sequences)`, ...(await perplexityPair(original.model, work, vset, { seed, truncation })) };
      }
      const speed = repeats === 0 ? [] : await throughput(original.model, work, shapes, repeats, seed);
      const onnx = onnxFileEntries(join(o.out, 'model.onnx'), exportEsmOnnxFiles(work, { maxTokens: Math.min(1024, truncation + 2) }));
      const modelFiles = hfEsmFiles(work, o.out);
      const report: CompressReport = {
        model: { source: modelPath, arch: c.arch, layers: c.numLayers, embedDim: c.embedDim, ffnDim: c.ffnDim },
        calibration: { fasta: o.fasta, maxTokens, maskProb: calibrationMaskProb },
        result,
        params: { before: original.model.numParameters(), after: work.numParameters() },
        fileBytes: { before: safetensorsSize(original.model), after: fileDataBytes((modelFiles[0] as FileEntry).data), onnx: onnx.reduce((a, f) => a + fileDataBytes(f.data), 0) },
        agreement,
        perplexity,
        throughput: speed,
        distill,
        threads: runtimeOptions().threads,
        seconds: (performance.now() - t0) / 1000,
      };
      const files: FileEntry[] = [
        ...modelFiles,
        ...onnx,
        { path: join(o.out, REPORT_JSON), data: toJsonText(reportJson(report), REPORT_JSON) },
        { path: join(o.out, REPORT_MD), data: reportMarkdown(report) },
        { path: join(o.out, REPORT_PNG), data: await renderCompressPng(report) },
      ];
      writeFilesAtomic(files);
      const pb = result.projections.reduce((a, p) => a + p.paramsBefore, 0);
      const pa = result.projections.reduce((a, p) => a + p.paramsAfter, 0);
      const factored = result.projections.filter((p) => p.rank !== null).length;
      console.log(`compressed ${factored} of ${result.projections.length} projections: parameters ${report.params.before} -> ${report.params.after} (projections ${pb} -> ${pa}, ${((100 * pa) / pb).toFixed(1)}%)`);
      console.log(`final representations (${agreement.set}): token cosine ${agreement.tokenCosine.toFixed(4)}, mean-embedding cosine ${agreement.meanCosine.toFixed(4)}`);
      if (perplexity !== null) console.log(`masked perplexity (pure): ${perplexity.before.perplexity.toFixed(3)} -> ${perplexity.after.perplexity.toFixed(3)}`);
      for (const s of speed) console.log(`forward ${s.batch}x${s.length}: ${s.beforeTokensPerSecond.toFixed(0)} -> ${s.afterTokensPerSecond.toFixed(0)} tokens/s (${s.speedup.toFixed(2)}x)`);
      console.log(`wrote ${files.length} files to ${o.out} in ${report.seconds.toFixed(1)} s`);
    });
}

function parsePolicy(o: CompressFlags): RankPolicy {
  const given = [o.rank, o.targetCosine, o.paramsFraction].filter((v) => v !== undefined).length;
  if (given !== 1) throw configError(`give exactly one of --rank, --target-cosine, --params-fraction (got ${given})`);
  if (o.rank !== undefined) return { kind: 'rank', rank: parseIntFlag('--rank', o.rank, 1) };
  if (o.targetCosine !== undefined) {
    const x = parseFloatFlag('--target-cosine', o.targetCosine, 0);
    if (x > 1) throw configError(`--target-cosine must be in (0, 1], got '${o.targetCosine}'`);
    return { kind: 'target-cosine', cosine: x };
  }
  const f = parseFloatFlag('--params-fraction', o.paramsFraction, 0);
  if (f >= 1) throw configError(`--params-fraction must be in (0, 1), got '${o.paramsFraction}'`);
  return { kind: 'params-fraction', fraction: f };
}

function parseShapes(v: string): [number, number][] {
  if (v === 'none' || v.trim() === '') return [];
  return v.split(',').map((s) => {
    const m = /^\s*(\d+)x(\d+)\s*$/.exec(s);
    if (m === null) throw configError(`--speed-shapes: '${s}' is not BxT (e.g. 16x256)`);
    const b = parseIntFlag('--speed-shapes batch', m[1], 1);
    const t = parseIntFlag('--speed-shapes length', m[2], 2, 1024);
    return [b, t];
  });
}

/** The output directory must not hold anything yet (a compressed model never overwrites files). */
function checkEmptyDir(path: string): void {
  try {
    if (!statSync(path).isDirectory()) throw configError(`--out ${path} exists and is not a directory`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (readdirSync(path).length > 0) throw configError(`--out ${path} is not empty; give a new directory`);
}
