import { residueSymbols } from './ngram.js';

/**
 * The composition baseline's features: amino-acid composition (AAC, 20 frequencies of the standard
 * residues) and dipeptide composition (DPC, 400 frequencies of ordered pairs of adjacent standard
 * residues), 420 values per sequence. Non-standard letters (`X`, ...) are left out of both counts
 * and break the pairs they are part of. Standardise them on the training split before a classifier.
 */

/** Features per sequence: 20 AAC + 400 DPC. */
export const COMPOSITION_DIM = 420;

/** The 420 composition features of each sequence, row after row. */
export function compositionFeatures(sequences: readonly string[]): Float32Array {
  const out = new Float32Array(sequences.length * COMPOSITION_DIM);
  const aac = new Float64Array(20);
  const dpc = new Float64Array(400);
  sequences.forEach((seq, r) => {
    const s = residueSymbols(seq);
    aac.fill(0);
    dpc.fill(0);
    let singles = 0;
    let pairs = 0;
    for (let i = 0; i < s.length; i++) {
      const a = s[i] as number;
      if (a >= 20) continue;
      aac[a]! += 1;
      singles++;
      const b = i + 1 < s.length ? (s[i + 1] as number) : 20;
      if (b < 20) {
        dpc[a * 20 + b]! += 1;
        pairs++;
      }
    }
    const row = r * COMPOSITION_DIM;
    for (let a = 0; a < 20; a++) out[row + a] = singles > 0 ? (aac[a] as number) / singles : 0;
    for (let p = 0; p < 400; p++) out[row + 20 + p] = pairs > 0 ? (dpc[p] as number) / pairs : 0;
  });
  return out;
}
