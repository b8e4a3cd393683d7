import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { getBatchIndices } from '../data/batching.js';
import { readFasta, type FastaRecord } from '../data/fasta.js';
import { batchConvert, encode, type UnknownPolicy } from '../data/tokenizer.js';
import { configError, ioError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { EsmModel } from '../models/esm/model.js';
import { resolveReprLayers } from '../models/esm/model.js';
import { bosVector, contactBlock, meanOverResidues, residueCount, residueRows } from '../models/esm/pooling.js';
import type { RuntimeOptions } from '../runtime/ort.js';
import { hostArray, type HostArray } from '../tensor/host-array.js';
import { fileStem } from './file-names.js';
import { EsmForwardSession, type ForwardResult } from './forward-session.js';
import { isOnnxEsmModel, type OnnxEsmModel } from './onnx-model.js';
import { readStoredMean, RESULT_EXTENSION, vector, writeSequenceResult, type OutputFormat, type SequenceResult } from './result-files.js';
import { shardRange, type Shard } from './shard.js';
import { labelsPath, shardedPath, stackFormatOf, writeStack } from './stack.js';

/**
 * Embedding extraction as fair-esm's `scripts/extract.py` does it (spec §3, §6), as a library:
 * FASTA records are batched by a token budget over length-sorted sequences, truncated to
 * `truncationSeqLength` residues, run through one compiled forward session, and written one file
 * per sequence. Existing files are skipped, so an interrupted run resumes; `shard` restricts the
 * run to one contiguous index range; `stack` also writes one `[N, E]` matrix of mean
 * representations in FASTA order with its labels.
 */

/** What each sequence file holds (extract.py's `--include`, plus `logits`). */
export type IncludeKind = 'mean' | 'per_tok' | 'bos' | 'contacts' | 'logits';
/** Every `--include` kind. */
export const INCLUDE_KINDS: readonly IncludeKind[] = ['mean', 'per_tok', 'bos', 'contacts', 'logits'];

/** Progress after each batch. */
export interface ExtractProgress {
  /** Sequences finished (computed or skipped) of `total`. */
  readonly done: number;
  readonly total: number;
  readonly skipped: number;
  /** Tokens (BOS and EOS included, padding not) run through the model so far. */
  readonly tokens: number;
  readonly elapsedMs: number;
}

/** Options of {@link extractEmbeddings}; defaults are extract.py's. */
export interface ExtractOptions {
  /** Representation layers, negative counting from the end (default [-1]). */
  readonly reprLayers?: readonly number[];
  /** Default ['mean']. */
  readonly include?: readonly IncludeKind[];
  /** Residues kept per sequence (default 1022). */
  readonly truncationSeqLength?: number;
  /** Padded-token budget per batch (default 4096). */
  readonly toksPerBatch?: number;
  /** Per-sequence file format (default 'pt'). */
  readonly format?: OutputFormat;
  readonly shard?: Shard | null;
  /** Also write the mean representations of `layer` as one matrix at `out` (sharded name under `shard`). */
  readonly stack?: { readonly layer: number; readonly out: string } | null;
  /** Unknown characters: error (fair-esm, default) or `<unk>`. */
  readonly unknown?: UnknownPolicy;
  /** Residues read, sorted and batched at a time (default 8M); a smaller FASTA is batched as a whole, as extract.py does. */
  readonly windowResidues?: number;
  readonly runtime?: RuntimeOptions;
  readonly onProgress?: (p: ExtractProgress) => void;
}

/** What a run did. */
export interface ExtractSummary {
  /** Records in the FASTA and the [start, end) range this run covered. */
  readonly records: number;
  readonly start: number;
  readonly end: number;
  readonly computed: number;
  readonly skipped: number;
  readonly tokens: number;
  readonly elapsedMs: number;
  /** Time inside the model's forward pass. */
  readonly forwardMs: number;
  readonly compileMs: number;
  readonly manifest: string;
  readonly stack: { readonly path: string; readonly labels: string } | null;
}

interface Plan {
  readonly fileLayers: readonly number[];
  readonly include: ReadonlySet<IncludeKind>;
  readonly stackLayer: number | null;
  readonly sessionLayers: readonly number[];
  readonly truncation: number;
  readonly toksPerBatch: number;
  readonly format: OutputFormat;
  readonly unknown: UnknownPolicy;
  readonly windowResidues: number;
}

function plan(model: EsmModel | OnnxEsmModel, o: ExtractOptions): Plan {
  const cfg = model.config;
  const include = new Set<IncludeKind>(o.include ?? ['mean']);
  if (include.size === 0) throw configError(`--include needs at least one of ${INCLUDE_KINDS.join(', ')}`);
  for (const k of include) if (!INCLUDE_KINDS.includes(k)) throw configError(`--include: unknown kind '${k}' (allowed: ${INCLUDE_KINDS.join(', ')})`);
  const truncation = o.truncationSeqLength ?? 1022;
  if (!Number.isInteger(truncation) || truncation < 1) throw configError(`--truncation-seq-length must be a positive integer, got ${truncation}`);
  if (cfg.arch === 'esm1b' && truncation > cfg.maxPositions - 2) {
    throw configError(`--truncation-seq-length ${truncation} is too long for ESM-1b: its ${cfg.maxPositions} learned positions allow at most ${cfg.maxPositions - 2} residues`);
  }
  const toksPerBatch = o.toksPerBatch ?? 4096;
  if (!Number.isInteger(toksPerBatch) || toksPerBatch < 1) throw configError(`--toks-per-batch must be a positive integer, got ${toksPerBatch}`);
  if (include.has('contacts') && model.contactHead === null) {
    throw configError('--include contacts needs the contact regression weights, which this checkpoint lacks (fair-esm: put <name>-contact-regression.pt beside the .pt file)');
  }
  const needsLayers = include.has('mean') || include.has('per_tok') || include.has('bos');
  const fileLayers = needsLayers ? resolveReprLayers(o.reprLayers ?? [-1], cfg.numLayers) : [];
  const stackLayer = o.stack === undefined || o.stack === null ? null : (resolveReprLayers([o.stack.layer], cfg.numLayers)[0] as number);
  if (o.stack !== undefined && o.stack !== null) stackFormatOf(o.stack.out);
  const sessionLayers = [...new Set([...fileLayers, ...(stackLayer === null ? [] : [stackLayer])])];
  const windowResidues = o.windowResidues ?? 8_000_000;
  if (!(windowResidues > 0)) throw configError(`windowResidues must be positive, got ${windowResidues}`);
  return { fileLayers, include, stackLayer, sessionLayers, truncation, toksPerBatch, format: o.format ?? 'pt', unknown: o.unknown ?? 'error', windowResidues };
}

/**
 * Counts the records of a FASTA file and checks every sequence against the alphabet, so a bad
 * record fails the run before any compute.
 */
export async function scanFasta(fasta: string, unknown: UnknownPolicy): Promise<number> {
  let n = 0;
  for await (const rec of readFasta(fasta)) {
    if (unknown === 'error') encode(rec.sequence, { label: rec.label });
    n++;
  }
  return n;
}

/** Runs the extraction of `fasta` into `outDir` with `model`. */
export async function extractEmbeddings(model: EsmModel | OnnxEsmModel, fasta: string, outDir: string, o: ExtractOptions = {}): Promise<ExtractSummary> {
  const t0 = performance.now();
  const p = plan(model, o);
  const records = await scanFasta(fasta, p.unknown);
  const shard = o.shard ?? null;
  const { start, end } = shardRange(records, shard);
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (e) {
    throw ioError(`cannot create output directory ${outDir}: ${(e as Error).message}`, e);
  }
  const E = model.config.embedDim;
  const total = end - start;
  const stackData = p.stackLayer === null ? null : new Float32Array(total * E);
  const stackLabels: string[] = [];
  const manifest: string[] = [];
  let session: { run: (tokens: HostArray) => Promise<ForwardResult>; compileMs: number } | null = null;
  let done = 0;
  let skipped = 0;
  let tokens = 0;
  let forwardMs = 0;
  const progress = (): void => o.onProgress?.({ done, total, skipped, tokens, elapsedMs: performance.now() - t0 });
  const ext = RESULT_EXTENSION[p.format];

  const runWindow = async (window: FastaRecord[]): Promise<void> => {
    const todo: FastaRecord[] = [];
    for (const rec of window) {
      const path = join(outDir, fileStem(rec.label) + ext);
      if (existsSync(path)) {
        if (stackData === null) {
          skipped++;
          done++;
          continue;
        }
        const v = readStoredMean(path, p.format, p.stackLayer as number);
        if (v !== null && v.length === E) {
          stackData.set(v, (rec.index - start) * E);
          skipped++;
          done++;
          continue;
        }
      }
      todo.push(rec);
    }
    if (skipped > 0) progress();
    for (const batch of getBatchIndices(todo.map((r) => r.sequence.length), p.toksPerBatch, 1)) {
      const rows = batch.map((i) => todo[i] as FastaRecord);
      const tb = batchConvert(rows, { truncationSeqLength: p.truncation, unknown: p.unknown });
      const spec = { reprLayers: p.sessionLayers, logits: p.include.has('logits'), contacts: p.include.has('contacts') };
      session ??= isOnnxEsmModel(model)
        ? await model.session(spec)
        : await EsmForwardSession.create(model, spec, { maxTokens: p.truncation + 2, ...(o.runtime === undefined ? {} : { runtime: o.runtime }) });
      const f0 = performance.now();
      const out = await session.run(tb.tokens);
      forwardMs += performance.now() - f0;
      rows.forEach((rec, row) => {
        const tl = residueCount(rec.sequence, p.truncation);
        writeSequenceResult(join(outDir, fileStem(rec.label) + ext), p.format, sequenceResult(rec.label, out, row, tl, p));
        if (stackData !== null) {
          const rep = out.representations.get(p.stackLayer as number) as HostArray;
          stackData.set(meanOverResidues(rep, row, tl), (rec.index - start) * E);
        }
        tokens += tb.lengths[row] as number;
        done++;
      });
      progress();
    }
  };

  let window: FastaRecord[] = [];
  let residues = 0;
  const limit = p.windowResidues;
  for await (const rec of readFasta(fasta, { start, end })) {
    window.push(rec);
    stackLabels.push(rec.label);
    manifest.push(JSON.stringify({ index: rec.index, label: rec.label, file: fileStem(rec.label) + ext, residues: rec.sequence.length }));
    residues += rec.sequence.length;
    if (residues >= limit) {
      await runWindow(window);
      window = [];
      residues = 0;
    }
  }
  if (window.length > 0) await runWindow(window);

  const suffix = shard === null ? '' : `.shard-${shard.index}-of-${shard.count}`;
  const manifestPath = join(outDir, `extract-manifest${suffix}.jsonl`);
  writeFileAtomic(manifestPath, manifest.length === 0 ? '' : `${manifest.join('\n')}\n`);
  let stack: ExtractSummary['stack'] = null;
  if (stackData !== null && o.stack !== undefined && o.stack !== null) {
    const path = shardedPath(o.stack.out, shard);
    writeStack(path, hostArray('float32', [total, E], stackData), stackLabels);
    stack = { path, labels: labelsPath(path) };
  }
  const compileMs = (session as { compileMs: number } | null)?.compileMs ?? 0;
  return { records, start, end, computed: done - skipped, skipped, tokens, elapsedMs: performance.now() - t0, forwardMs, compileMs, manifest: manifestPath, stack };
}

/** The arrays of one row of a batch, as extract.py slices them. */
function sequenceResult(label: string, out: ForwardResult, row: number, tl: number, p: Plan): SequenceResult {
  const reps = (f: (rep: HostArray) => HostArray): Map<number, HostArray> =>
    new Map(p.fileLayers.map((l) => [l, f(out.representations.get(l) as HostArray)]));
  return {
    label,
    ...(p.include.has('per_tok') ? { representations: reps((r) => residueRows(r, row, tl)) } : {}),
    ...(p.include.has('mean') ? { meanRepresentations: reps((r) => vector(meanOverResidues(r, row, tl))) } : {}),
    ...(p.include.has('bos') ? { bosRepresentations: reps((r) => vector(bosVector(r, row))) } : {}),
    ...(p.include.has('contacts') && out.contacts !== null ? { contacts: contactBlock(out.contacts, row, tl) } : {}),
    ...(p.include.has('logits') && out.logits !== null ? { logits: residueRows(out.logits, row, tl) } : {}),
  };
}
