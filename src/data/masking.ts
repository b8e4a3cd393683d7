/**
 * BERT-style masked-language-model corruption (Devlin et al. 2019, https://arxiv.org/abs/1810.04805,
 * section 3.1; the ESM-2 paper, Lin et al. 2023, trains the same way): each eligible position is
 * selected with probability 15%; a selected position becomes `<mask>` with probability 80%, a random
 * standard amino acid with 10%, and keeps its token with 10%. Targets hold the original token at
 * selected positions and the ignore index (-100) everywhere else.
 *
 * Eligible positions are residues and gap symbols (ids 4..30); cls, pad, eos, unk, `<null_1>` and
 * `<mask>` are never selected. Random replacements draw from the 20 standard amino acids (ids 4..23)
 * only, so the model never sees X/B/U/Z/O or gaps as noise. Selection is an independent Bernoulli
 * draw per position, so a short row may get no selected position.
 */
import { configError } from '../errors.js';
import { allocData, hostArray, type HostArray } from '../tensor/host-array.js';
import { SPECIAL_IDS, STANDARD_AMINO_ACID_IDS, isSpecialId } from './alphabet.js';
import type { Rng } from '../tensor/random.js';
import type { TokenDType } from './tokenizer.js';

/** Loss ignore index at positions that carry no target (PyTorch's `CrossEntropyLoss` default). */
export const IGNORE_INDEX = -100;

/** Probabilities of the corruption; the defaults are BERT's. */
export interface MaskingOptions {
  /** Fraction of eligible positions selected. Default 0.15. */
  selectProb?: number;
  /** Of the selected: fraction replaced by `<mask>`. Default 0.8. */
  maskProb?: number;
  /** Of the selected: fraction replaced by a random standard amino acid. Default 0.1 (the rest is kept). */
  randomProb?: number;
}

/** Output of {@link maskTokens}. */
export interface MaskedTokens<D extends TokenDType> {
  /** (B, T) corrupted input ids. */
  readonly tokens: HostArray<D>;
  /** (B, T) original ids at selected positions, {@link IGNORE_INDEX} elsewhere. */
  readonly targets: HostArray<D>;
  /** Number of selected positions. */
  readonly selected: number;
}

/**
 * Corrupts a (B, T) token matrix for MLM training; the input is not modified. Deterministic for a given
 * generator state: positions are visited in row-major order, each eligible one drawing one uniform for
 * selection and, if selected, one for the replacement kind (and one integer for a random residue).
 */
export function maskTokens<D extends TokenDType>(tokens: HostArray<D>, rng: Rng, options: MaskingOptions = {}): MaskedTokens<D> {
  const selectProb = options.selectProb ?? 0.15;
  const maskProb = options.maskProb ?? 0.8;
  const randomProb = options.randomProb ?? 0.1;
  const probOk = (p: number): boolean => p >= 0 && p <= 1;
  if (!probOk(selectProb) || !probOk(maskProb) || !probOk(randomProb) || maskProb + randomProb > 1) {
    throw configError(
      `maskTokens: probabilities must lie in [0, 1] with maskProb + randomProb <= 1; ` +
        `got selectProb ${selectProb}, maskProb ${maskProb}, randomProb ${randomProb}`,
    );
  }
  const n = tokens.data.length;
  const wide = tokens.data instanceof BigInt64Array;
  const read = (i: number): number => Number(tokens.data[i]);
  const out = new Int32Array(n);
  const tgt = new Int32Array(n).fill(IGNORE_INDEX);
  let selected = 0;
  for (let i = 0; i < n; i++) {
    const id = read(i);
    out[i] = id;
    if (isSpecialId(id) || rng.float() >= selectProb) continue;
    selected++;
    tgt[i] = id;
    const u = rng.float();
    if (u < maskProb) {
      out[i] = SPECIAL_IDS.mask;
    } else if (u < maskProb + randomProb) {
      out[i] = STANDARD_AMINO_ACID_IDS[rng.int(STANDARD_AMINO_ACID_IDS.length)] as number;
    }
  }
  return {
    tokens: hostArray(tokens.dtype, tokens.shape, toDType(tokens.dtype, out, wide)),
    targets: hostArray(tokens.dtype, tokens.shape, toDType(tokens.dtype, tgt, wide)),
    selected,
  };
}

function toDType<D extends TokenDType>(dtype: D, values: Int32Array, wide: boolean): HostArray<D>['data'] {
  if (!wide) return values as HostArray<D>['data'];
  const data = allocData(dtype, values.length) as BigInt64Array;
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i] as number);
  return data as HostArray<D>['data'];
}
