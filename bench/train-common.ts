import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MlmBatch } from '../src/data/mlm-stream.js';
import { toFairEsmName } from '../src/io/esm/names.js';
import { writeNpy } from '../src/io/npy.js';
import { writePt } from '../src/io/pt-writer.js';
import type { EsmConfig } from '../src/models/esm/config.js';
import type { EsmModel } from '../src/models/esm/model.js';
import { hostArray, type HostArray } from '../src/tensor/host-array.js';
import { peerPython, torchScript } from './peer.js';

/**
 * What the training benchmark's two sides share: the run spec both read, the batch files they both
 * train on, the weight files, the FLOP count, and the child-process runner.
 *
 * Dims: N batches, B rows, T tokens (padded), V vocab, E embed, F ffn, L layers.
 */

/** Repository root (works from dist/bench). */
export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** What one side of one benchmark configuration runs (written as spec.json, read by both sides). */
export interface TrainBenchSpec {
  readonly name: string;
  readonly model: EsmConfig;
  /** The esm2-8m-shaped teacher (when lambda > 0). */
  readonly teacherModel: EsmConfig | null;
  readonly lambda: number;
  readonly temperature: number;
  readonly lr: number;
  readonly warmup: number;
  readonly weightDecay: number;
  readonly clip: number | null;
  readonly seed: number;
  readonly threads: number;
  /** Folder with tokens.npy, targets.npy, lengths.npy. */
  readonly batchesDir: string;
  /** Throughput mode: train on the first this many batches of the folder (all when absent). */
  readonly batches?: number;
  /** Time-to-perplexity mode: training budget and evaluation marks (training seconds). */
  readonly budgetSec?: number;
  readonly evalEverySec?: number;
  /** Time-to-perplexity mode (our side): the data stream it rebuilds. */
  readonly stream?: { readonly train: string; readonly valid: string; readonly validLimit: number; readonly crop: number; readonly batchSize: number; readonly maskProb: number };
}

/** Writes a spec file. */
export function writeSpec(dir: string, spec: TrainBenchSpec): void {
  writeFileSync(join(dir, 'spec.json'), `${JSON.stringify(spec, null, 2)}\n`);
}

/** Writes batches as (N, B, Tmax) int32 tokens/targets (padded with `<pad>` / −100) and their lengths (N). */
export function writeBatches(dir: string, batches: readonly MlmBatch[], pad: number, ignore: number): void {
  const B = Math.max(...batches.map((b) => b.tokens.shape[0] as number));
  const Tmax = Math.max(...batches.map((b) => b.tokens.shape[1] as number));
  const n = batches.length;
  const tokens = new Int32Array(n * B * Tmax).fill(pad);
  const targets = new Int32Array(n * B * Tmax).fill(ignore);
  const lengths = new Int32Array(n);
  batches.forEach((b, i) => {
    const [rows, T] = b.tokens.shape as [number, number];
    if (rows !== B) throw new Error(`batch ${i} has ${rows} rows, expected ${B} (fixed batch size)`);
    lengths[i] = T;
    const tk = b.tokens.data as BigInt64Array;
    const tg = b.targets.data as BigInt64Array;
    for (let r = 0; r < rows; r++) {
      for (let t = 0; t < T; t++) {
        tokens[(i * B + r) * Tmax + t] = Number(tk[r * T + t]);
        targets[(i * B + r) * Tmax + t] = Number(tg[r * T + t]);
      }
    }
  });
  writeNpy(join(dir, 'tokens.npy'), hostArray('int32', [n, B, Tmax], tokens));
  writeNpy(join(dir, 'targets.npy'), hostArray('int32', [n, B, Tmax], targets));
  writeNpy(join(dir, 'lengths.npy'), hostArray('int32', [n], lengths));
}

/** Batch i of written batch files as int64 (B, T) tokens and targets. */
export function batchAt(tokens: HostArray, targets: HostArray, lengths: HostArray, i: number): { tokens: HostArray<'int64'>; targets: HostArray<'int64'>; count: number } {
  const [, B, Tmax] = tokens.shape as [number, number, number];
  const T = (lengths.data as Int32Array)[i] as number;
  const tk = new BigInt64Array(B * T);
  const tg = new BigInt64Array(B * T);
  const a = tokens.data as Int32Array;
  const g = targets.data as Int32Array;
  let count = 0;
  for (let r = 0; r < B; r++) {
    for (let t = 0; t < T; t++) {
      const v = a[(i * B + r) * Tmax + t] as number;
      tk[r * T + t] = BigInt(v);
      tg[r * T + t] = BigInt(g[(i * B + r) * Tmax + t] as number);
      if (v !== 1) count++;
    }
  }
  return { tokens: hostArray('int64', [B, T], tk), targets: hostArray('int64', [B, T], tg), count };
}

/** Writes a model's weights as a fair-esm-named state dict (with ESM-2's rotary buffers) for the peer. */
export function writeWeights(model: EsmModel, path: string): void {
  const sd = new Map<string, HostArray>();
  for (const [k, v] of model.stateDict()) sd.set(toFairEsmName(k), v);
  if (model.config.arch === 'esm2') {
    model.layers.forEach((l, i) => sd.set(`layers.${i}.self_attn.rot_emb.inv_freq`, hostArray('float32', [l.selfAttn.invFreq.length], l.selfAttn.invFreq)));
  }
  writePt(path, sd);
}

/**
 * Matrix-multiply FLOPs of one forward pass over a (B, T) padded batch: per layer q/k/v/out
 * (4 · 2E²), the FFN (2 · 2EF) and attention scores and probabilities × values (2 · 2TE) per
 * token; the LM head's dense (2E²) and tied decoder (2EV). Element-wise work is not counted.
 */
export function forwardFlops(c: EsmConfig, B: number, T: number): number {
  const E = c.embedDim;
  const perToken = c.numLayers * (8 * E * E + 4 * E * c.ffnDim + 4 * T * E) + 2 * E * E + 2 * E * c.vocabSize;
  return B * T * perToken;
}

/** FLOPs of one training step: the student's forward + backward (2 × forward) and the teacher's forward. */
export function stepFlops(student: EsmConfig, teacher: EsmConfig | null, B: number, T: number): { student: number; teacher: number } {
  return { student: 3 * forwardFlops(student, B, T), teacher: teacher === null ? 0 : forwardFlops(teacher, B, T) };
}

/** Runs a child process (stderr shown live) and parses the last JSON line of its stdout. */
export function runChild<T>(cmd: string, argv: readonly string[], what: string): T {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 256 << 20, cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.signal})`);
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (line === undefined) throw new Error(`${what} printed no JSON`);
  return JSON.parse(line) as T;
}

/** Runs our side (dist/bench/train-ours.js) on a prepared folder. */
export function runOurs<T>(dir: string, mode: 'throughput' | 'ttp'): T {
  return runChild<T>(process.execPath, [join(ROOT, 'dist', 'bench', 'train-ours.js'), dir, mode], `protdistil side (${mode}, ${dir})`);
}

/** Runs the PyTorch side (bench/torch/train_mlm.py) on a prepared folder. */
export function runTorch<T>(dir: string, mode: 'throughput' | 'ttp', threads: number): T {
  return runChild<T>(peerPython(), [torchScript('train_mlm.py'), '--dir', dir, '--mode', mode, '--threads', String(threads)], `PyTorch side (${mode}, ${dir})`);
}

/** Reads `--name value` flags. */
export function flagReader(args: readonly string[]): (name: string, def: string) => string {
  return (name, def) => {
    const i = args.indexOf(name);
    return i >= 0 ? (args[i + 1] ?? def) : def;
  };
}
