import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  ALPHABET,
  APPEND_EOS,
  PREPEND_BOS,
  SPECIAL_IDS,
  STANDARD_AMINO_ACID_IDS,
  VOCAB_SIZE,
  decode,
  idToToken,
  isSpecialId,
  tokenToId,
  vocabTxt,
} from '../../src/data/alphabet.js';
import { fixturePath, readFixtureJson } from './fixtures.js';

interface TokFixture {
  alphabet: string[];
  special: { cls: number; pad: number; eos: number; unk: number; mask: number; prepend_bos: boolean; append_eos: boolean };
}
const fx = readFixtureJson<TokFixture>('tokenization.json');

test('alphabet matches fair-esm token for token', () => {
  assert.deepEqual([...ALPHABET], fx.alphabet);
  assert.equal(VOCAB_SIZE, fx.alphabet.length);
});

test('special ids and BOS/EOS flags match fair-esm', () => {
  const { cls, pad, eos, unk, mask } = fx.special;
  assert.deepEqual({ ...SPECIAL_IDS }, { cls, pad, eos, unk, mask });
  assert.equal(PREPEND_BOS, fx.special.prepend_bos);
  assert.equal(APPEND_EOS, fx.special.append_eos);
});

test('alphabet and special ids are frozen', () => {
  assert.ok(Object.isFrozen(ALPHABET));
  assert.ok(Object.isFrozen(SPECIAL_IDS));
  assert.throws(() => {
    (ALPHABET as string[])[4] = 'Q';
  }, TypeError);
  assert.equal(ALPHABET[4], 'L');
});

test('token <-> id maps round-trip and reject strangers', () => {
  fx.alphabet.forEach((tok, i) => {
    assert.equal(tokenToId(tok), i);
    assert.equal(idToToken(i), tok);
  });
  assert.equal(tokenToId('<sep>'), undefined);
  assert.equal(tokenToId('l'), undefined);
  assert.equal(idToToken(33), undefined);
  assert.equal(idToToken(-1), undefined);
  assert.equal(idToToken(1.5), undefined);
});

test('vocab.txt is byte-identical to the Hugging Face file', () => {
  assert.equal(vocabTxt(), readFileSync(fixturePath('vocab.txt'), 'utf8'));
});

test('standard amino acids are ids 4..23 and exactly the 20 canonical letters', () => {
  const letters = STANDARD_AMINO_ACID_IDS.map((i) => ALPHABET[i]).sort().join('');
  assert.equal(letters, 'ACDEFGHIKLMNPQRSTVWY');
  assert.deepEqual([...STANDARD_AMINO_ACID_IDS], Array.from({ length: 20 }, (_, i) => i + 4));
});

test('isSpecialId separates specials from residues and gaps', () => {
  const special = fx.alphabet.map((_, i) => i).filter(isSpecialId);
  assert.deepEqual(special, [0, 1, 2, 3, 31, 32]);
});

test('decode renders ids as text', () => {
  assert.equal(decode([0, 20, 15, 32, 2, 1]), '<cls>MK<mask><eos><pad>');
  assert.equal(decode(new BigInt64Array([5n, 40n])), 'A<?40>');
});
