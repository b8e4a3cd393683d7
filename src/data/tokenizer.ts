/**
 * ESM tokenisation, ported from fair-esm `esm/data.py` (`Alphabet.tokenize`, `Alphabet.encode`,
 * `BatchConverter`) at commit 2b369911. Text is split on every vocabulary string in index order (so a
 * literal `<mask>` inside a sequence becomes id 32), whitespace is ignored, and a leftover piece that is
 * not a vocabulary entry is an error, as fair-esm's KeyError, unless the caller opts into `<unk>`
 * (Hugging Face `EsmTokenizer` behaviour: one `<unk>` per unknown piece).
 */
import { configError, dataError } from '../errors.js';
import { allocData, hostArray, type DataOf, type HostArray } from '../tensor/host-array.js';
import { ALPHABET, SPECIAL_IDS, tokenToId } from './alphabet.js';

/** What to do with a piece that is not in the vocabulary: raise (fair-esm) or map to `<unk>` (HF). */
export type UnknownPolicy = 'error' | 'unk';

/** Options of {@link encode}. */
export interface EncodeOptions {
  /** Names the sequence in error messages (a FASTA label). */
  label?: string;
  /** Default `'error'`, as fair-esm. */
  unknown?: UnknownPolicy;
}

/** One piece of a tokenised text: its characters, where it starts in the raw text, its id (-1 if unknown). */
export interface TokenPiece {
  readonly text: string;
  readonly start: number;
  readonly id: number;
}

/** A labelled sequence, the unit that batches and FASTA files carry. */
export interface SequenceRecord {
  readonly label: string;
  readonly sequence: string;
}

/** Integer dtypes a token matrix can be built in. */
export type TokenDType = 'int64' | 'int32';

/** Options of {@link batchConvert}. */
export interface BatchConvertOptions<D extends TokenDType = 'int64'> {
  /** Keep only the first N encoded tokens of each sequence, before BOS/EOS (extract.py uses 1022). */
  truncationSeqLength?: number;
  unknown?: UnknownPolicy;
  /** Matrix dtype; default int64 as fair-esm. */
  dtype?: D;
  /** Pad every row to at least this many columns (to reach a bucket length, see `bucketLength`). */
  padTo?: number;
}

/** Output of {@link batchConvert}: the (B, T) token matrix and what went into it. */
export interface TokenBatch<D extends TokenDType = 'int64'> {
  readonly labels: string[];
  readonly sequences: string[];
  /** (B, T) with T = max(maxlen + 2, padTo); rows are BOS, ids, EOS, then pad. */
  readonly tokens: HostArray<D>;
  /** Non-pad tokens per row, BOS and EOS included. */
  readonly lengths: number[];
}

/**
 * Python's `str.isspace` set (what `str.split()` and `str.strip()` use), which differs from JS `\s`:
 * it includes U+001C..U+001F and U+0085 and excludes U+FEFF.
 */
export function isPythonWhitespace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d) || (code >= 0x1c && code <= 0x1f);
  if (code < 0x85) return false;
  return (
    code === 0x85 || code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000
  );
}

/** Python `str.strip()` with the whitespace set above. */
export function pythonStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isPythonWhitespace(s.charCodeAt(a))) a++;
  while (b > a && isPythonWhitespace(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/**
 * Splits text exactly as fair-esm `Alphabet.tokenize`: for each vocabulary string in index order, every
 * piece not yet claimed by a token is split on its leftmost non-overlapping occurrences (Python
 * `str.split`); what is left at the end is split on whitespace. Claimed characters are marked in a
 * per-character array, so an occurrence lies inside one unclaimed piece exactly when none of its
 * characters is marked, and each vocabulary string costs one pass over the text.
 */
export function tokenize(text: string, vocab: readonly string[] = ALPHABET): TokenPiece[] {
  const n = text.length;
  const owner = new Int32Array(n).fill(-1); // vocab index claiming each character, -1 if none
  const tokenAt = new Uint8Array(n); // 1 where a claimed occurrence starts
  for (let t = 0; t < vocab.length; t++) {
    const tok = vocab[t] as string;
    const len = tok.length;
    if (len === 0) continue;
    let p = text.indexOf(tok);
    while (p >= 0) {
      let free = true;
      for (let j = p; j < p + len; j++) {
        if (owner[j] !== -1) {
          free = false;
          break;
        }
      }
      if (free) {
        owner.fill(t, p, p + len);
        tokenAt[p] = 1;
        p = text.indexOf(tok, p + len);
      } else {
        p = text.indexOf(tok, p + 1);
      }
    }
  }
  const lookup = (s: string): number => (vocab === ALPHABET ? tokenToId(s) ?? -1 : vocab.indexOf(s));
  const pieces: TokenPiece[] = [];
  let i = 0;
  while (i < n) {
    if (tokenAt[i] === 1) {
      const id = owner[i] as number;
      const tok = vocab[id] as string;
      pieces.push({ text: tok, start: i, id });
      i += tok.length;
    } else if (isPythonWhitespace(text.charCodeAt(i))) {
      i++;
    } else {
      const a = i;
      while (i < n && tokenAt[i] === 0 && !isPythonWhitespace(text.charCodeAt(i))) i++;
      const piece = text.slice(a, i);
      pieces.push({ text: piece, start: a, id: lookup(piece) });
    }
  }
  return pieces;
}

// Single-character tokens by char code (-1: not a one-character token).
const CHAR_IDS = new Int8Array(128).fill(-1);
ALPHABET.forEach((tok, id) => {
  if (tok.length === 1) CHAR_IDS[tok.charCodeAt(0)] = id;
});

/**
 * Encodes one sequence to token ids, without BOS/EOS (fair-esm `Alphabet.encode`). Text made only of
 * one-character tokens (residues, `.`, `-`), the bulk of real input, is mapped character by character;
 * anything else (whitespace, `<mask>` and other `<...>` tokens, unknown characters) goes through the
 * ordered splitting of {@link tokenize}.
 */
export function encode(seq: string, options: EncodeOptions = {}): Int32Array {
  const n = seq.length;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = seq.charCodeAt(i);
    const id = c < 128 ? (CHAR_IDS[c] as number) : -1;
    if (id < 0) return encodePieces(seq, options);
    out[i] = id;
  }
  return out;
}

function encodePieces(seq: string, options: EncodeOptions): Int32Array {
  const pieces = tokenize(seq);
  const out = new Int32Array(pieces.length);
  for (let j = 0; j < pieces.length; j++) {
    const piece = pieces[j] as TokenPiece;
    if (piece.id >= 0) {
      out[j] = piece.id;
    } else if (options.unknown === 'unk') {
      out[j] = SPECIAL_IDS.unk;
    } else {
      throw unknownTokenError(piece, options.label);
    }
  }
  return out;
}

function unknownTokenError(piece: TokenPiece, label: string | undefined): Error {
  const who = label === undefined ? 'sequence' : `sequence ${JSON.stringify(label)}`;
  const shown = piece.text.length > 40 ? `${JSON.stringify(piece.text.slice(0, 40))}... (${piece.text.length} chars)` : JSON.stringify(piece.text);
  return dataError(
    `encode: ${who} has unknown token ${shown} at position ${piece.start} (0-based); ` +
      `the ESM alphabet is upper-case residue letters, '.', '-' and <cls> <pad> <eos> <unk> <null_1> <mask> ` +
      `(to map unknown pieces to <unk> instead, pass --unknown-as-unk on the command line or unknown: 'unk' in the API)`,
  );
}

/**
 * Builds the (B, T) token matrix of fair-esm `BatchConverter`: encode each sequence, truncate to
 * `truncationSeqLength` ids, then row i = [BOS] + ids + [EOS] followed by pad (1); T = maxlen + 2.
 * fair-esm treats a truncation length of 0 as "off"; here it must be a positive integer or absent.
 */
export function batchConvert<D extends TokenDType = 'int64'>(
  seqs: readonly (string | SequenceRecord)[],
  options: BatchConvertOptions<D> = {},
): TokenBatch<D> {
  if (seqs.length === 0) throw dataError('batchConvert: the batch is empty');
  const trunc = options.truncationSeqLength;
  if (trunc !== undefined && !(Number.isInteger(trunc) && trunc > 0)) {
    throw configError(`batchConvert: truncationSeqLength must be a positive integer, got ${trunc}`);
  }
  const labels: string[] = [];
  const sequences: string[] = [];
  const encoded: Int32Array[] = [];
  let maxLen = 0;
  seqs.forEach((item, i) => {
    const rec = typeof item === 'string' ? { label: `#${i}`, sequence: item } : item;
    let ids = encode(rec.sequence, { label: rec.label, unknown: options.unknown ?? 'error' });
    if (trunc !== undefined && ids.length > trunc) ids = ids.subarray(0, trunc);
    labels.push(rec.label);
    sequences.push(rec.sequence);
    encoded.push(ids);
    maxLen = Math.max(maxLen, ids.length);
  });
  let T = maxLen + 2;
  if (options.padTo !== undefined) {
    if (!Number.isInteger(options.padTo) || options.padTo < 0) {
      throw configError(`batchConvert: padTo must be a non-negative integer, got ${options.padTo}`);
    }
    T = Math.max(T, options.padTo);
  }
  const dtype = (options.dtype ?? 'int64') as D;
  const B = encoded.length;
  const lengths = encoded.map((ids) => ids.length + 2);
  const tokens = hostArray(dtype, [B, T], fillTokens(dtype, encoded, T));
  return { labels, sequences, tokens, lengths };
}

const BIG_IDS: readonly bigint[] = ALPHABET.map((_, i) => BigInt(i));

function fillTokens<D extends TokenDType>(dtype: D, encoded: readonly Int32Array[], T: number): DataOf[D] {
  const data = allocData(dtype, encoded.length * T);
  if (data instanceof BigInt64Array) {
    data.fill(BigInt(SPECIAL_IDS.pad));
    encoded.forEach((ids, b) => {
      const row = b * T;
      data[row] = BigInt(SPECIAL_IDS.cls);
      for (let j = 0; j < ids.length; j++) data[row + 1 + j] = BIG_IDS[ids[j] as number] as bigint;
      data[row + 1 + ids.length] = BigInt(SPECIAL_IDS.eos);
    });
  } else {
    const d = data as Int32Array;
    d.fill(SPECIAL_IDS.pad);
    encoded.forEach((ids, b) => {
      const row = b * T;
      d[row] = SPECIAL_IDS.cls;
      d.set(ids, row + 1);
      d[row + 1 + ids.length] = SPECIAL_IDS.eos;
    });
  }
  return data;
}
