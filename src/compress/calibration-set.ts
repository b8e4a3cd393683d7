import { getBatchIndices } from '../data/batching.js';
import { readFasta, type FastaRecord } from '../data/fasta.js';
import { batchConvert, encode, type TokenBatch, type UnknownPolicy } from '../data/tokenizer.js';
import { SPECIAL_IDS } from '../data/alphabet.js';
import { configError } from '../errors.js';
import { Rng } from '../tensor/random.js';

/**
 * The calibration (or held-out) sequences of `compress`: the first records of a FASTA file up to
 * a token budget, truncated as extract.py truncates (BOS and EOS added), batched by a padded-token
 * budget over length-sorted sequences as extract does.
 */

/** Batches and what they hold. */
export interface TokenSet {
  readonly batches: readonly TokenBatch[];
  /** Non-pad tokens (BOS and EOS included): the rows every projection statistic is taken over. */
  readonly tokens: number;
  readonly sequences: number;
  /** The longest row (tokens), for sizing rotary tables. */
  readonly maxLength: number;
}

/** Options of {@link readTokenSet}. */
export interface TokenSetOptions {
  /** Stop after the record that brings the total to this many tokens. */
  readonly maxTokens: number;
  readonly truncationSeqLength: number;
  readonly toksPerBatch: number;
  readonly unknown?: UnknownPolicy;
  /**
   * Fraction of residues replaced by `<mask>` (seeded, never BOS/EOS/pad), so that projections are
   * also calibrated on the inputs a masked-LM use produces (default 0: the sequences as they are).
   */
  readonly maskProb?: number;
  readonly seed?: number;
}

/** Reads the first records of `fasta` up to `maxTokens` tokens and batches them. */
export async function readTokenSet(fasta: string, o: TokenSetOptions): Promise<TokenSet> {
  if (!(Number.isInteger(o.maxTokens) && o.maxTokens > 0)) throw configError(`--max-tokens must be a positive integer, got ${o.maxTokens}`);
  const records: FastaRecord[] = [];
  const lengths: number[] = [];
  let tokens = 0;
  for await (const rec of readFasta(fasta)) {
    const n = Math.min(encode(rec.sequence, { label: rec.label, unknown: o.unknown ?? 'error' }).length, o.truncationSeqLength) + 2;
    records.push(rec);
    lengths.push(n);
    tokens += n;
    if (tokens >= o.maxTokens) break;
  }
  const batches = getBatchIndices(lengths, o.toksPerBatch).map((idx) =>
    batchConvert(idx.map((i) => records[i] as FastaRecord), { truncationSeqLength: o.truncationSeqLength, unknown: o.unknown ?? 'error' }),
  );
  const maskProb = o.maskProb ?? 0;
  if (!(maskProb >= 0 && maskProb < 1)) throw configError(`--calibration-mask-prob must lie in [0, 1), got ${maskProb}`);
  if (maskProb > 0) {
    const rng = new Rng(o.seed ?? 0);
    for (const b of batches) {
      const T = b.tokens.shape[1] as number;
      const t = b.tokens.data;
      // Residues sit at 1 … length − 2 of each row (BOS first, EOS last, then padding).
      b.lengths.forEach((n, r) => {
        for (let j = 1; j < n - 1; j++) if (rng.uniform() < maskProb) t[r * T + j] = BigInt(SPECIAL_IDS.mask);
      });
    }
  }
  return { batches, tokens, sequences: records.length, maxLength: Math.max(0, ...lengths) };
}
