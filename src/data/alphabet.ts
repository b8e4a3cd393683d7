/**
 * The ESM alphabet shared by ESM-1b, ESM-1v and ESM-2 (fair-esm `esm/data.py` `Alphabet.from_architecture`
 * with `esm/constants.py` `proteinseq_toks`): 4 leading specials, 25 residue letters, 2 gap symbols, one
 * filler to round the count up to a multiple of 8, then `<mask>`.
 */

/** The 33 token strings in index order (index = token id). */
export const ALPHABET: readonly string[] = Object.freeze([
  '<cls>', '<pad>', '<eos>', '<unk>',
  'L', 'A', 'G', 'V', 'S', 'E', 'R', 'T', 'I', 'D', 'P', 'K', 'Q', 'N', 'F', 'Y', 'M', 'H', 'W', 'C',
  'X', 'B', 'U', 'Z', 'O',
  '.', '-',
  '<null_1>',
  '<mask>',
]);

/** Vocabulary size V. */
export const VOCAB_SIZE = 33;

/** Special token ids (fair-esm `cls_idx`, `padding_idx`, `eos_idx`, `unk_idx`, `mask_idx`). */
export const SPECIAL_IDS = Object.freeze({ cls: 0, pad: 1, eos: 2, unk: 3, mask: 32 } as const);

/** The ESM-2/ESM-1b alphabet prepends BOS (= `<cls>`) and appends EOS to every sequence. */
export const PREPEND_BOS = true;
/** See {@link PREPEND_BOS}. */
export const APPEND_EOS = true;

/** Ids 4..30: the 25 residue letters and the gap symbols `.` and `-` (everything that is not special). */
export const FIRST_RESIDUE_ID = 4;
/** Last id of the residue/gap block. */
export const LAST_RESIDUE_ID = 30;

/** The 20 standard amino acids occupy ids 4..23 (`L A G V S E R T I D P K Q N F Y M H W C`). */
export const STANDARD_AMINO_ACID_IDS: readonly number[] = Object.freeze(
  Array.from({ length: 20 }, (_, i) => FIRST_RESIDUE_ID + i),
);

const TOKEN_TO_ID: ReadonlyMap<string, number> = new Map(ALPHABET.map((tok, i) => [tok, i]));

/** Id of a token string, or `undefined` when it is not in the vocabulary. */
export function tokenToId(token: string): number | undefined {
  return TOKEN_TO_ID.get(token);
}

/** Token string of an id, or `undefined` when the id is outside 0..32. */
export function idToToken(id: number): string | undefined {
  return Number.isInteger(id) ? ALPHABET[id] : undefined;
}

/** True for ids that never stand for a residue: cls, pad, eos, unk, `<null_1>` and mask. */
export function isSpecialId(id: number): boolean {
  return id < FIRST_RESIDUE_ID || id > LAST_RESIDUE_ID;
}

/** Turns ids back into text, e.g. `[0, 20, 15, 2]` -> `<cls>MK<eos>`; unknown ids render as `<?id>`. */
export function decode(ids: ArrayLike<number | bigint>): string {
  let out = '';
  for (let i = 0; i < ids.length; i++) {
    const id = Number(ids[i]);
    out += ALPHABET[id] ?? `<?${id}>`;
  }
  return out;
}

/** The Hugging Face `vocab.txt`: one token per line in index order, newline-terminated. */
export function vocabTxt(): string {
  return ALPHABET.join('\n') + '\n';
}
