import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { dataError } from '../errors.js';
import { writeFileAtomic, writeFilesAtomic } from '../io/atomic-write.js';
import { encodeNpy, readNpy } from '../io/npy.js';
import type { LoadedEsm } from '../io/esm/loaded.js';
import { SafetensorsReader } from '../io/safetensors.js';
import { resolveReprLayers } from '../models/esm/model.js';
import { extractEmbeddings, type ExtractProgress } from '../extract/pipeline.js';
import { hostArray } from '../tensor/host-array.js';
import type { LabelledSequence } from './labelled-data.js';

/**
 * Pooled embeddings for probes and maps, computed by the extract pipeline (`extractEmbeddings`:
 * same batching, truncation and pooling as `protdistil extract`) and cached on disk per model,
 * layer and data file: `<cache>/<model>-<hash>/layer<L>/<file>-<hash>/` holds the FASTA handed to
 * extract, its per-sequence files (so an interrupted run resumes), and the stacked `cls.npy` and
 * `mean.npy` matrices read by later runs. The model hash covers the checkpoint's path, size and
 * modification time; the data hash covers every id and sequence, so an edited file is re-embedded.
 */

/** Poolings of a sequence's representation: the BOS (`<cls>`) vector or the mean over residues. */
export type Pooling = 'cls' | 'mean';
/** Every pooling. */
export const POOLINGS: readonly Pooling[] = ['cls', 'mean'];

/** What {@link pooledEmbeddings} needs. */
export interface EmbeddingRequest {
  readonly loaded: LoadedEsm;
  /** Representation layer (negative counts from the end). */
  readonly layer: number;
  readonly sequences: readonly LabelledSequence[];
  /** The data file the sequences came from (names the cache folder). */
  readonly source: string;
  readonly cacheDir: string;
  readonly truncationSeqLength?: number;
  readonly toksPerBatch?: number;
  readonly onProgress?: (p: ExtractProgress) => void;
}

/** Both poolings as (rows, dim) matrices in input order. */
export interface PooledEmbeddings {
  readonly dim: number;
  readonly layer: number;
  readonly cls: Float32Array;
  readonly mean: Float32Array;
  /** Sequences longer than the truncation length (cut as extract does). */
  readonly truncated: number;
  readonly truncation: number;
  readonly cached: boolean;
  readonly dir: string;
}

const short = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);

/** A key for a checkpoint: its real path, sizes and modification times. */
export function modelKey(path: string): string {
  const real = realpathSync(path);
  const st = statSync(real);
  const files = st.isDirectory() ? readdirSync(real).sort().map((f) => join(real, f)) : [real];
  const parts = files.map((f) => {
    const s = statSync(f);
    return `${f}:${s.size}:${s.mtimeMs}`;
  });
  return `${basename(real).replace(/[^\w.-]/g, '_')}-${short(parts.join('|'))}`;
}

/** A key for a data file's content (ids and sequences). */
export function dataKey(source: string, sequences: readonly LabelledSequence[]): string {
  const h = createHash('sha256');
  for (const s of sequences) h.update(`${s.id}\t${s.sequence}\n`);
  return `${basename(source).replace(/[^\w.-]/g, '_')}-${h.digest('hex').slice(0, 12)}`;
}

/** The cache folder of one model, layer and data file. */
export function cacheFolder(cacheDir: string, loaded: LoadedEsm, layer: number, source: string, sequences: readonly LabelledSequence[]): string {
  return join(cacheDir, modelKey(loaded.path), `layer${layer}`, dataKey(source, sequences));
}

/** Embeds `sequences` (or reads them from the cache) and returns both poolings. */
export async function pooledEmbeddings(r: EmbeddingRequest): Promise<PooledEmbeddings> {
  const cfg = r.loaded.config;
  const layer = resolveReprLayers([r.layer], cfg.numLayers)[0] as number;
  const maxResidues = cfg.arch === 'esm1b' ? Math.min(1022, cfg.maxPositions - 2) : 1022;
  const truncation = r.truncationSeqLength ?? maxResidues;
  const truncated = r.sequences.filter((s) => s.sequence.length > truncation).length;
  const dir = cacheFolder(r.cacheDir, r.loaded, layer, r.source, r.sequences);
  const n = r.sequences.length;
  const E = cfg.embedDim;
  const stacked = { cls: join(dir, `cls.t${truncation}.npy`), mean: join(dir, `mean.t${truncation}.npy`) };
  if (existsSync(stacked.cls) && existsSync(stacked.mean)) {
    const cls = readNpy(stacked.cls);
    const mean = readNpy(stacked.mean);
    if (cls.shape[0] === n && cls.shape[1] === E && mean.shape[0] === n && mean.shape[1] === E && cls.dtype === 'float32' && mean.dtype === 'float32') {
      return { dim: E, layer, cls: cls.data as Float32Array, mean: mean.data as Float32Array, truncated, truncation, cached: true, dir };
    }
  }
  const fasta = join(dir, 'input.fasta');
  const labels = r.sequences.map((_, i) => `s${String(i).padStart(7, '0')}`);
  const text = r.sequences.map((s, i) => `>${labels[i]}\n${s.sequence}\n`).join('');
  if (!existsSync(fasta) || readFileSync(fasta, 'utf8') !== text) writeFileAtomic(fasta, text);
  const seqDir = join(dir, `t${truncation}`);
  await extractEmbeddings(r.loaded.model, fasta, seqDir, {
    reprLayers: [layer],
    include: ['mean', 'bos'],
    format: 'safetensors',
    truncationSeqLength: truncation,
    ...(r.toksPerBatch === undefined ? {} : { toksPerBatch: r.toksPerBatch }),
    ...(r.onProgress === undefined ? {} : { onProgress: r.onProgress }),
  });
  const cls = new Float32Array(n * E);
  const mean = new Float32Array(n * E);
  labels.forEach((label, i) => {
    const reader = SafetensorsReader.open(join(seqDir, `${label}.safetensors`));
    try {
      const m = reader.read(`mean_representations.${layer}`);
      const b = reader.read(`bos_representations.${layer}`);
      if (m.data.length !== E || b.data.length !== E) throw dataError(`embedding cache ${seqDir}: ${label} holds vectors of ${m.data.length} / ${b.data.length} values, expected ${E}`);
      mean.set(m.data as Float32Array, i * E);
      cls.set(b.data as Float32Array, i * E);
    } finally {
      reader.close();
    }
  });
  writeFilesAtomic([
    { path: stacked.cls, data: encodeNpy(hostArray('float32', [n, E], cls)) },
    { path: stacked.mean, data: encodeNpy(hostArray('float32', [n, E], mean)) },
  ]);
  return { dim: E, layer, cls, mean, truncated, truncation, cached: false, dir };
}
