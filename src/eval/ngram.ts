import { readFasta } from '../data/fasta.js';
import type { ByteSource } from '../data/text-lines.js';
import { dataError } from '../errors.js';

/**
 * Masked-residue perplexity floors from n-gram counts: every standard residue of an evaluated file
 * is predicted from its TRUE neighbours (the model never sees them masked, which is why these are
 * floors a masked LM must beat, not baselines it is compared with under the training rule). Counts
 * come from a training file; add-one (Laplace) smoothing over the 20 standard residues; sequence
 * ends are padded with a boundary symbol; `X` and every other non-standard letter is never a target
 * but may be context. This is the protocol behind the floors in `shared/data/README.md`
 * (`baselines_valid.json` → `ngram`).
 */

/** The 20 standard amino acids, the targets (symbols 0..19). */
export const STANDARD_RESIDUES = 'ACDEFGHIKLMNPQRSTVWY';
/** Context symbol of any non-standard letter (`X`, `B`, `Z`, `U`, `O`, ...). */
const OTHER = 20;
/** Context symbol beyond either end of a sequence. */
const BOUNDARY = 21;
/** Context alphabet size: 20 standard + other + boundary. */
const S = 22;
const A = 20;

/** The context an n-gram model conditions on. */
export type NgramContext = 'none' | 'left' | 'left-right' | 'left2';

/** Every context, in report order, with the name used in `baselines_valid.json`. */
export const NGRAM_MODELS: readonly { readonly context: NgramContext; readonly name: string }[] = Object.freeze([
  { context: 'none', name: 'unigram' },
  { context: 'left', name: 'bigram (left neighbour)' },
  { context: 'left-right', name: 'two-sided 3-gram (left + right neighbour)' },
  { context: 'left2', name: 'causal 3-gram (two left)' },
]);

/** Number of distinct contexts of each kind. */
function contextCount(c: NgramContext): number {
  return c === 'none' ? 1 : c === 'left' ? S : S * S;
}

const CODE = new Int8Array(128).fill(OTHER);
for (let i = 0; i < STANDARD_RESIDUES.length; i++) CODE[STANDARD_RESIDUES.charCodeAt(i)] = i;

/** Symbols of a sequence (0..19 standard, 20 other); lower case counts as upper case. */
export function residueSymbols(sequence: string): Uint8Array {
  const out = new Uint8Array(sequence.length);
  for (let i = 0; i < sequence.length; i++) {
    let c = sequence.charCodeAt(i);
    if (c >= 97 && c <= 122) c -= 32;
    out[i] = c < 128 ? (CODE[c] as number) : OTHER;
  }
  return out;
}

/** Context index of position i (symbols beyond the ends are the boundary). */
function contextOf(c: NgramContext, s: Uint8Array, i: number): number {
  const at = (j: number): number => (j < 0 || j >= s.length ? BOUNDARY : (s[j] as number));
  switch (c) {
    case 'none':
      return 0;
    case 'left':
      return at(i - 1);
    case 'left-right':
      return at(i - 1) * S + at(i + 1);
    case 'left2':
      return at(i - 2) * S + at(i - 1);
  }
}

/** Counts of (context, target) pairs for every context kind. */
export class NgramCounts {
  /** counts[c][ctx * 20 + target]. */
  readonly counts: ReadonlyMap<NgramContext, Float64Array>;
  private seqs = 0;
  private targets = 0;

  constructor(readonly contexts: readonly NgramContext[] = NGRAM_MODELS.map((m) => m.context)) {
    this.counts = new Map(contexts.map((c) => [c, new Float64Array(contextCount(c) * A)]));
  }

  /** Sequences and scored targets added so far. */
  get sequences(): number {
    return this.seqs;
  }
  get positions(): number {
    return this.targets;
  }

  /** Adds one training sequence. */
  add(sequence: string): void {
    const s = residueSymbols(sequence);
    this.seqs++;
    for (const c of this.contexts) {
      const t = this.counts.get(c) as Float64Array;
      for (let i = 0; i < s.length; i++) {
        const a = s[i] as number;
        if (a < A) t[contextOf(c, s, i) * A + a]! += 1;
      }
    }
    for (let i = 0; i < s.length; i++) if ((s[i] as number) < A) this.targets++;
  }

  /** Add-one smoothed log-probabilities log p(target | ctx), as a table like `counts`. */
  logProbabilities(c: NgramContext): Float64Array {
    const t = this.counts.get(c);
    if (t === undefined) throw dataError(`n-gram: context '${c}' was not counted`);
    const out = new Float64Array(t.length);
    for (let ctx = 0; ctx < t.length / A; ctx++) {
      let total = 0;
      for (let a = 0; a < A; a++) total += t[ctx * A + a] as number;
      const denom = Math.log(total + A);
      for (let a = 0; a < A; a++) out[ctx * A + a] = Math.log((t[ctx * A + a] as number) + 1) - denom;
    }
    return out;
  }
}

/** The floor of one context on one evaluated file. */
export interface NgramScore {
  readonly context: NgramContext;
  readonly name: string;
  /** exp(mean negative log-likelihood). */
  readonly perplexity: number;
  /** Mean negative log-likelihood per scored residue, nats. */
  readonly nllNats: number;
  readonly bitsPerResidue: number;
  /** Standard residues scored. */
  readonly scoredPositions: number;
}

/** Scores every standard residue of `sequences` under each counted context. */
export function scoreNgrams(counts: NgramCounts, sequences: Iterable<string>): NgramScore[] {
  const tables = counts.contexts.map((c) => counts.logProbabilities(c));
  const nll = new Float64Array(counts.contexts.length);
  let n = 0;
  for (const seq of sequences) {
    const s = residueSymbols(seq);
    for (let i = 0; i < s.length; i++) {
      const a = s[i] as number;
      if (a >= A) continue;
      n++;
      counts.contexts.forEach((c, k) => (nll[k]! -= (tables[k] as Float64Array)[contextOf(c, s, i) * A + a] as number));
    }
  }
  if (n === 0) throw dataError('n-gram floors: the evaluated sequences hold no standard residue to score');
  return counts.contexts.map((c, k) => {
    const mean = (nll[k] as number) / n;
    const name = NGRAM_MODELS.find((m) => m.context === c)?.name ?? c;
    return { context: c, name, perplexity: Math.exp(mean), nllNats: mean, bitsPerResidue: mean / Math.LN2, scoredPositions: n };
  });
}

/** Counts n-grams over a FASTA file (plain or gzip); `onRecord` sees the running record count. */
export async function countFasta(train: ByteSource, onRecord?: (records: number) => void, contexts?: readonly NgramContext[]): Promise<NgramCounts> {
  const counts = new NgramCounts(contexts);
  for await (const rec of readFasta(train, { checkDuplicates: false })) {
    counts.add(rec.sequence);
    onRecord?.(counts.sequences);
  }
  if (counts.positions === 0) throw dataError(`n-gram floors: the training file ${typeof train === 'string' ? train : ''} holds no standard residue`);
  return counts;
}
