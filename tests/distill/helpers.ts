import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/tensor/random.js';

/** Shared helpers of the training and evaluation tests. */

/** A fresh temporary directory and a function that removes it. */
export function tempDir(prefix = 'protdistil-train-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const RESIDUES = 'ACDEFGHIKLMNPQRSTVWY';

/** `n` seeded random protein sequences of lengths in [minLen, maxLen]. */
export function randomProteins(n: number, seed: number, minLen = 20, maxLen = 80): string[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const len = minLen + rng.int(maxLen - minLen + 1);
    let s = '';
    for (let i = 0; i < len; i++) s += RESIDUES[rng.int(RESIDUES.length)];
    return s;
  });
}

/** Writes sequences as FASTA (`>p<i>` labels); returns the path. */
export function writeFasta(path: string, seqs: readonly string[]): string {
  writeFileSync(path, seqs.map((s, i) => `>p${i}\n${s}\n`).join(''));
  return path;
}
