import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad } from '../../src/autograd/mode.js';
import { readTokenSet, type TokenSet } from '../../src/compress/calibration-set.js';
import { InputTap } from '../../src/compress/sequential.js';
import type { EsmModel } from '../../src/models/esm/model.js';
import { Module } from '../../src/nn/module.js';
import type { Projection } from '../../src/nn/low-rank-linear.js';
import { swapModules } from '../../src/nn/swap.js';
import type { Embeddings } from '../../src/rank/embeddings.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';

/** Shared helpers of the compress tests. */

/** A fresh temporary directory and a function that removes it. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'protdistil-compress-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `n` random protein sequences (seeded, lengths 20–80) as FASTA. */
export function writeRandomFasta(path: string, n: number, seed: number): void {
  const aa = 'ACDEFGHIKLMNPQRSTVWY';
  const rng = new Rng(seed);
  const recs: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = 20 + rng.int(61);
    recs.push(`>seq${i}\n${Array.from({ length: len }, () => aa[rng.int(20)]).join('')}\n`);
  }
  writeFileSync(path, recs.join(''));
}

/** A token set read from a random FASTA file. */
export async function randomTokenSet(dir: string, n: number, seed: number, toksPerBatch = 1024): Promise<TokenSet> {
  const path = join(dir, `calib-${seed}-${n}.fasta`);
  writeRandomFasta(path, n, seed);
  return readTokenSet(path, { maxTokens: 1e9, truncationSeqLength: 1022, toksPerBatch });
}

/** Logits (B, T, V) of a model on each batch of a set, realised on the engine. */
export async function logitsOf(model: EsmModel, set: TokenSet): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const b of set.batches) out.push((await noGrad(() => model.forward(Tensor.fromHost(b.tokens)).logits).toArray()) as Float32Array);
  return out;
}

/** Records the input of a projection during a forward pass. */
/** The inputs each of `paths` receives in `model` on the non-pad tokens of `set`, as row matrices. */
export async function projectionInputs(model: EsmModel, set: TokenSet, paths: readonly string[]): Promise<Map<string, Embeddings>> {
  const mods = new Map(model.namedModules());
  const taps = new Map(paths.map((p) => [p, new InputTap(mods.get(p) as Projection)]));
  swapModules(model, (p) => taps.get(p) ?? null);
  const rows = new Map<string, number[]>(paths.map((p) => [p, []]));
  try {
    for (const b of set.batches) {
      noGrad(() => model.forward(Tensor.fromHost(b.tokens)));
      const [B, T] = b.tokens.shape as [number, number];
      for (const [p, tap] of taps) {
        const d = tap.inner.inFeatures;
        const x = (await (tap.captured as Tensor).toArray()) as Float32Array;
        const acc = rows.get(p) as number[];
        for (let r = 0; r < B; r++) for (let t = 0; t < (b.lengths[r] as number); t++) acc.push(...x.subarray((r * T + t) * d, (r * T + t + 1) * d));
      }
    }
  } finally {
    swapModules(model, (p) => (taps.get(p)?.inner as Module | undefined) ?? null);
  }
  return new Map(paths.map((p) => {
    const d = (taps.get(p) as InputTap).inner.inFeatures;
    const data = Float32Array.from(rows.get(p) as number[]);
    return [p, { rows: data.length / d, dim: d, data }];
  }));
}
