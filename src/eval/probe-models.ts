import { basename } from 'node:path';
import { configError, dataError } from '../errors.js';
import type { LoadedEsm } from '../io/esm/loaded.js';
import type { ExtractProgress } from '../extract/pipeline.js';
import { compositionFeatures, COMPOSITION_DIM } from './composition.js';
import { pooledEmbeddings, type Pooling } from './embedding-cache.js';
import type { LabelledSequence } from './labelled-data.js';
import { runProbe, type ProbeResult, type TrainSize } from './probe.js';

/**
 * Probes over several models and poolings on one task, plus the composition floor: embeddings
 * come from the extract pipeline through the on-disk cache (embedding-cache.ts), every
 * (model, pooling) pair gets the same probe (probe.ts), and the composition baseline (AAC + DPC,
 * same classifier) is one more row. Everything a report needs to state is kept: rows, classes,
 * truncation, the layer, unseen labels.
 */

/** A labelled data file of the task. */
export interface TaskFile {
  /** Split name (`train`, `valid`, `valid_lowid`, `test`, ...). */
  readonly name: string;
  readonly path: string;
  readonly rows: readonly LabelledSequence[];
}

/** A model to probe, under the name it is reported by. */
export interface NamedModel {
  readonly name: string;
  readonly loaded: LoadedEsm;
}

/** Options of {@link probeModels}. */
export interface ProbeModelsOptions {
  readonly poolings: readonly Pooling[];
  readonly layer: number;
  readonly trainSizes: readonly TrainSize[];
  readonly grid?: readonly number[];
  readonly seed?: number;
  readonly composition: boolean;
  readonly cacheDir: string;
  readonly truncationSeqLength?: number;
  readonly toksPerBatch?: number;
  readonly onEmbed?: (what: string, p: ExtractProgress) => void;
  readonly onEmbedDone?: (what: string, cached: boolean) => void;
  readonly onFit?: (what: string, done: number, total: number) => void;
}

/** One row group of the probe table: a model (or the composition floor) with one pooling. */
export interface ProbeRow {
  readonly model: string;
  /** `composition` for the floor. */
  readonly pooling: Pooling | 'composition';
  readonly dim: number;
  /** Resolved representation layer (null for the composition floor). */
  readonly layer: number | null;
  /** Sequences cut to the truncation length, per split (models only). */
  readonly truncated: Readonly<Record<string, number>>;
  readonly truncation: number | null;
  readonly results: readonly ProbeResult[];
}

/** Short display name of a model path. */
export function modelDisplayName(path: string): string {
  return basename(path.replace(/[/\\]+$/, '')).replace(/\.pt$/, '');
}

/** Checks that models can stand side by side: the same vocabulary (alphabet) and mask token. */
export function checkSameAlphabet(models: readonly NamedModel[]): void {
  const first = models[0];
  if (first === undefined) return;
  for (const m of models) {
    const a = first.loaded.config;
    const b = m.loaded.config;
    if (b.vocabSize !== a.vocabSize || b.maskIdx !== a.maskIdx || b.paddingIdx !== a.paddingIdx) {
      throw configError(
        `models with different alphabets cannot be compared: ${first.name} has vocabulary ${a.vocabSize} (mask ${a.maskIdx}, pad ${a.paddingIdx}), ${m.name} has ${b.vocabSize} (mask ${b.maskIdx}, pad ${b.paddingIdx})`,
      );
    }
  }
  const names = new Set<string>();
  for (const m of models) {
    if (names.has(m.name)) throw configError(`two models are both named '${m.name}'; give them distinct names`);
    names.add(m.name);
  }
}

/** Runs the probe for every model × pooling (and the composition floor) on one task. */
export async function probeModels(models: readonly NamedModel[], train: TaskFile, evals: readonly TaskFile[], o: ProbeModelsOptions): Promise<ProbeRow[]> {
  checkSameAlphabet(models);
  if (evals.length === 0) throw configError('probe: needs a validation split (the first evaluation split chooses C)');
  if (models.length === 0 && !o.composition) throw configError('probe: nothing to probe (no model and the composition floor is off)');
  const files = [train, ...evals];
  for (const f of files) if (f.rows.length === 0) throw dataError(`${f.path}: no labelled rows`);
  const labels = (f: TaskFile): string[] => f.rows.map((r) => r.label);
  const rows: ProbeRow[] = [];
  const probe = async (what: string, dim: number, x: (f: TaskFile) => Float32Array): Promise<ProbeResult[]> =>
    runProbe(
      dim,
      { name: train.name, x: x(train), labels: labels(train) },
      evals.map((f) => ({ name: f.name, x: x(f), labels: labels(f) })),
      {
        trainSizes: o.trainSizes,
        ...(o.grid === undefined ? {} : { grid: o.grid }),
        ...(o.seed === undefined ? {} : { seed: o.seed }),
        onFit: (d, t) => o.onFit?.(what, d, t),
      },
    );
  if (o.composition) {
    const feats = new Map(files.map((f) => [f, compositionFeatures(f.rows.map((r) => r.sequence))]));
    const results = await probe('composition', COMPOSITION_DIM, (f) => feats.get(f) as Float32Array);
    rows.push({ model: 'composition (AAC + DPC)', pooling: 'composition', dim: COMPOSITION_DIM, layer: null, truncated: {}, truncation: null, results });
  }
  for (const m of models) {
    const emb = new Map<TaskFile, Awaited<ReturnType<typeof pooledEmbeddings>>>();
    for (const f of files) {
      const what = `${m.name} ${f.name}`;
      const e = await pooledEmbeddings({
        loaded: m.loaded,
        layer: o.layer,
        sequences: f.rows,
        source: f.path,
        cacheDir: o.cacheDir,
        ...(o.truncationSeqLength === undefined ? {} : { truncationSeqLength: o.truncationSeqLength }),
        ...(o.toksPerBatch === undefined ? {} : { toksPerBatch: o.toksPerBatch }),
        onProgress: (p) => o.onEmbed?.(what, p),
      });
      o.onEmbedDone?.(what, e.cached);
      emb.set(f, e);
    }
    const any = emb.get(train) as Awaited<ReturnType<typeof pooledEmbeddings>>;
    const truncated = Object.fromEntries(files.map((f) => [f.name, (emb.get(f) as typeof any).truncated]));
    for (const pooling of o.poolings) {
      const results = await probe(`${m.name} ${pooling}`, any.dim, (f) => (emb.get(f) as typeof any)[pooling]);
      rows.push({ model: m.name, pooling, dim: any.dim, layer: any.layer, truncated, truncation: any.truncation, results });
    }
  }
  return rows;
}
