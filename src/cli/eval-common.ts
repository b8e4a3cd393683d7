import { basename } from 'node:path';
import { configError } from '../errors.js';
import type { ExtractProgress } from '../extract/pipeline.js';
import { loadEsm } from '../io/esm/load.js';
import { POOLINGS, type Pooling } from '../eval/embedding-cache.js';
import { readLabelled, type LabelColumns } from '../eval/labelled-data.js';
import { modelDisplayName, type NamedModel, type TaskFile } from '../eval/probe-models.js';
import type { TrainSize } from '../eval/probe.js';
import { parseFloatFlag, parseListFlag } from './flags.js';
import { progressBar, type Progress } from './progress.js';

/** Shared flag parsing and progress plumbing of the `eval` subcommands. */

/** `100,1000,all` -> [100, 1000, 'all']. */
export function parseTrainSizes(v: string): TrainSize[] {
  const items = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw configError('--train-sizes needs at least one size');
  return items.map((s) => {
    if (s === 'all') return 'all';
    const n = Number(s);
    if (!Number.isInteger(n) || n < 2) throw configError(`--train-sizes: '${s}' is not 'all' or an integer >= 2`);
    return n;
  });
}

/** `0.01,0.1,1,10` -> numbers > 0. */
export function parseGrid(v: string): number[] {
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => parseFloatFlag('--grid', s, 0));
}

/** `cls,mean` -> poolings. */
export function parsePoolings(v: string): Pooling[] {
  return parseListFlag('--pooling', v, POOLINGS);
}

/** Loads models; `name=path` names one explicitly, otherwise the file or folder name is used. */
export function loadModels(specs: readonly string[]): NamedModel[] {
  return specs.map((spec) => {
    const eq = spec.indexOf('=');
    const [name, path] = eq > 0 && !spec.slice(0, eq).includes('/') ? [spec.slice(0, eq), spec.slice(eq + 1)] : [modelDisplayName(spec), spec];
    const loaded = loadEsm(path);
    const c = loaded.config;
    process.stderr.write(`model ${name}: ${c.arch === 'esm2' ? 'ESM-2' : 'ESM-1b'}, ${c.numLayers} layers, embed dim ${c.embedDim} (${loaded.format} ${loaded.path})\n`);
    return { name, loaded };
  });
}

/** Reads one labelled split; its name is the file's stem unless given. */
export async function readTaskFile(name: string | null, path: string, cols: LabelColumns, labels?: string): Promise<TaskFile> {
  const stem = basename(path).replace(/\.(tsv|csv|fasta|fa|faa)(\.gz)?$/i, '');
  return { name: name ?? stem, path, rows: await readLabelled(path, cols, labels) };
}

/** Progress bars keyed by what they measure, created on first use and stopped on the next key. */
export class BarSet {
  private current: { key: string; bar: Progress } | null = null;
  /** Updates (or opens) the bar of `key`. */
  update(key: string, label: string, value: number, total: number, payloadFormat = '', payload: Record<string, string | number> = {}): void {
    if (this.current?.key !== key) {
      this.stop();
      this.current = { key, bar: progressBar(label, total, payloadFormat) };
    }
    this.current.bar.update(value, payload);
  }
  /** Stops the open bar. */
  stop(): void {
    this.current?.bar.stop();
    this.current = null;
  }
  /** An extract progress callback. */
  extract(key: string, p: ExtractProgress): void {
    const s = Math.max(p.elapsedMs, 1) / 1000;
    this.update(key, `embed ${key}`, p.done, p.total, '{seqps} seq/s', { seqps: ((p.done - p.skipped) / s).toFixed(1) });
  }
}
