import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALPHABET } from '../../src/data/alphabet.js';
import { Rng } from '../../src/tensor/random.js';
import { batchConvert, encode, isPythonWhitespace, pythonStrip, tokenize } from '../../src/data/tokenizer.js';
import { isProtdistilError } from '../../src/errors.js';
import { readFixtureJson, readNpyInt64, rows } from './fixtures.js';

interface TokFixture {
  encode: { text: string; ids: number[] }[];
  encode_errors: { text: string; error: string; missing: string }[];
  batch_converter: { truncation_seq_length: number | null; input: [string, string][]; tokens: number[][] }[];
}
interface InputsFixture {
  [batch: string]: {
    labels: string[];
    sequences: string[];
    truncation_seq_length: number | null;
    tokens: number[][];
    lengths_with_specials: number[];
  };
}
const fx = readFixtureJson<TokFixture>('tokenization.json');
const inputs = readFixtureJson<InputsFixture>('inputs.json');

// An independent, literal port of the reference splitting on strings (no offsets), used as an oracle.
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const lstrip = (s: string): string => s.replace(new RegExp(`^[${PY_WS}]+`), '');
const rstrip = (s: string): string => s.replace(new RegExp(`[${PY_WS}]+$`), '');
const wsSplit = (s: string): string[] => s.split(new RegExp(`[${PY_WS}]+`)).filter((p) => p.length > 0);
function oracleTokenize(text: string): string[] {
  const vocab = new Set(ALPHABET);
  const splitOn = (tok: string, t: string): string[] => {
    const out: string[] = [];
    const parts = t.split(tok);
    parts.forEach((raw, i) => {
      let sub = raw;
      if (i < parts.length - 1) sub = rstrip(sub);
      if (i > 0) sub = lstrip(sub);
      if (i === 0 && sub.length === 0) out.push(tok);
      else if (i === parts.length - 1) {
        if (sub.length > 0) out.push(sub);
      } else {
        if (sub.length > 0) out.push(sub);
        out.push(tok);
      }
    });
    return out;
  };
  if (wsSplit(text).length === 0) return [];
  let list = [text];
  for (const tok of ALPHABET) {
    list = list.flatMap((t) => (vocab.has(t) ? [t] : splitOn(tok, t)));
  }
  return list.flatMap((t) => (vocab.has(t) ? [t] : wsSplit(t)));
}
function oracleEncode(text: string): number[] | { missing: string } {
  const ids: number[] = [];
  for (const piece of oracleTokenize(text)) {
    const id = ALPHABET.indexOf(piece);
    if (id < 0) return { missing: piece };
    ids.push(id);
  }
  return ids;
}

function dataErrorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isProtdistilError(e, 'data'), `expected a data error, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected an error');
}

test('every fixture encode case gives fair-esm ids (fast scan and ordered splitting)', () => {
  assert.equal(fx.encode.length, 14);
  for (const c of fx.encode) {
    assert.deepEqual([...encode(c.text)], c.ids, `encode(${JSON.stringify(c.text)})`);
    assert.deepEqual(tokenize(c.text).map((p) => p.id), c.ids, `tokenize(${JSON.stringify(c.text)})`);
    assert.deepEqual(oracleEncode(c.text), c.ids, `oracle(${JSON.stringify(c.text)})`);
  }
});

test('every fixture encode error raises a data error naming label, piece and position', () => {
  assert.equal(fx.encode_errors.length, 6);
  for (const c of fx.encode_errors) {
    const msg = dataErrorMessage(() => encode(c.text, { label: 'prot_7' }));
    const pos = c.text.indexOf(c.missing);
    assert.ok(msg.includes('"prot_7"'), msg);
    assert.ok(msg.includes(`unknown token ${JSON.stringify(c.missing)} at position ${pos}`), msg);
    const firstBad = tokenize(c.text).find((p) => p.id < 0);
    assert.deepEqual(firstBad && { text: firstBad.text, start: firstBad.start }, { text: c.missing, start: pos });
    assert.deepEqual(oracleEncode(c.text), { missing: c.missing });
  }
});

test('error positions count raw characters, whitespace and <mask> included', () => {
  const msg = dataErrorMessage(() => encode('MK <mask>\n  A*', { label: 'x' }));
  assert.ok(msg.includes('unknown token "*" at position 13'), msg);
  const noLabel = dataErrorMessage(() => encode('AJ'));
  assert.ok(noLabel.includes('sequence has unknown token "J" at position 1'), noLabel);
});

test('long unknown pieces are shortened in the message', () => {
  const msg = dataErrorMessage(() => encode('M' + 'x'.repeat(1000)));
  assert.ok(msg.includes('(1000 chars)'), msg);
  assert.ok(msg.length < 400, msg);
});

test("unknown: 'unk' maps each unknown piece to <unk> (3)", () => {
  assert.deepEqual([...encode('MJK', { unknown: 'unk' })], [20, 3, 15]);
  assert.deepEqual([...encode('mkv', { unknown: 'unk' })], [3]);
  assert.deepEqual([...encode('<MASK>', { unknown: 'unk' })], [3, 20, 5, 8, 15, 3]);
  assert.deepEqual([...encode('A<sep> K', { unknown: 'unk' })], [5, 3, 15]);
  assert.deepEqual([...encode('ACD', { unknown: 'unk' })], [5, 23, 13]);
});

test('Python whitespace set: U+001C..U+001F and U+0085 are spaces, U+FEFF is not', () => {
  for (const c of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1f, 0x20, 0x85, 0xa0, 0x2000, 0x3000]) assert.ok(isPythonWhitespace(c), c.toString(16));
  for (const c of [0x08, 0x21, 0x41, 0xfeff, 0x200b]) assert.ok(!isPythonWhitespace(c), c.toString(16));
  assert.deepEqual([...encode('M\x1cK\x85V\u3000')], [20, 15, 7]);
  assert.match(dataErrorMessage(() => encode('M\ufeffK')), /position 1/);
  assert.equal(pythonStrip(' \t\x1fab c\u2028'), 'ab c');
});

test('encode agrees with the literal port of the reference on random texts', () => {
  const pool = ['L', 'A', 'M', 'K', 'W', 'X', 'O', '.', '-', '<mask>', '<cls>', '<eos>', '<pad>', '<unk>', '<null_1>',
    '<', '>', 'm', 'a', 's', 'k', 'J', '*', ' ', '\n', '\t', '\r\n', '\u00a0', '\ufeff', '<sep>', '<MASK>', 'null_1>', '<mas', 'k>'];
  const rng = new Rng(11);
  let errors = 0;
  for (let trial = 0; trial < 3000; trial++) {
    const len = rng.int(12);
    let text = '';
    for (let i = 0; i < len; i++) text += pool[rng.int(trial % 2 === 0 ? 15 : pool.length)];
    assert.deepEqual(tokenize(text).map((p) => p.text), oracleTokenize(text), JSON.stringify(text));
    const want = oracleEncode(text);
    if (Array.isArray(want)) {
      assert.deepEqual([...encode(text)], want, JSON.stringify(text));
    } else {
      errors++;
      const msg = dataErrorMessage(() => encode(text));
      const bad = tokenize(text).find((p) => p.id < 0);
      assert.equal(bad?.text, want.missing, JSON.stringify(text));
      assert.ok(msg.includes(`unknown token ${JSON.stringify(want.missing)} at position ${bad?.start}`), msg);
      assert.equal(text.slice(bad?.start, (bad?.start ?? 0) + want.missing.length), want.missing);
    }
  }
  assert.ok(errors > 300 && errors < 2700, `both outcomes exercised (${errors} errors)`);
});

test('long sequences take the fast path and match the splitting rule', () => {
  const letters = 'LAGVSERTIDPKQNFYMHWC';
  const rng = new Rng(3);
  let s = '';
  for (let i = 0; i < 200_000; i++) s += letters[rng.int(20)];
  const ids = encode(s);
  assert.equal(ids.length, 200_000);
  assert.deepEqual([...ids.subarray(0, 50)], [...s.slice(0, 50)].map((c) => ALPHABET.indexOf(c)));
  const withBreaks = s.replace(/(.{60})/g, '$1\n').slice(0, 20_000) + '<mask>';
  assert.deepEqual([...encode(withBreaks)], tokenize(withBreaks).map((p) => p.id));
  const big = encode(s.repeat(10));
  assert.equal(big.length, 2_000_000);
  assert.equal(big[1_999_999], ids[199_999]);
});

test('blank text encodes to nothing', () => {
  assert.equal(encode('').length, 0);
  assert.equal(encode(' \n\t').length, 0);
  assert.deepEqual(tokenize('  '), []);
});

test('BatchConverter fixture cases, with and without truncation, incl. the empty sequence', () => {
  assert.equal(fx.batch_converter.length, 2);
  for (const c of fx.batch_converter) {
    const recs = c.input.map(([label, sequence]) => ({ label, sequence }));
    const opts = c.truncation_seq_length === null ? {} : { truncationSeqLength: c.truncation_seq_length };
    const b = batchConvert(recs, opts);
    assert.equal(b.tokens.dtype, 'int64');
    assert.ok(b.tokens.data instanceof BigInt64Array);
    assert.deepEqual(b.tokens.shape, [c.tokens.length, (c.tokens[0] as number[]).length]);
    assert.deepEqual(rows(b.tokens.data, b.tokens.shape), c.tokens);
    assert.deepEqual(b.labels, c.input.map((p) => p[0]));
    assert.deepEqual(b.sequences, c.input.map((p) => p[1]));
    assert.deepEqual(b.lengths, c.tokens.map((r) => r.filter((t) => t !== 1).length));
    const b32 = batchConvert(recs, { ...opts, dtype: 'int32' });
    assert.ok(b32.tokens.data instanceof Int32Array);
    assert.deepEqual(rows(b32.tokens.data, b32.tokens.shape), c.tokens);
  }
  const empty = batchConvert(['']);
  assert.deepEqual(rows(empty.tokens.data, empty.tokens.shape), [[0, 2]]);
});

test('inputs.json sequences reproduce the reference tokens of both models exactly', () => {
  assert.deepEqual(Object.keys(inputs).sort(), ['long', 'main', 'masked']);
  for (const [name, batch] of Object.entries(inputs)) {
    const recs = batch.labels.map((label, i) => ({ label, sequence: batch.sequences[i] as string }));
    const opts = batch.truncation_seq_length === null ? {} : { truncationSeqLength: batch.truncation_seq_length };
    const b = batchConvert(recs, opts);
    assert.deepEqual(rows(b.tokens.data, b.tokens.shape), batch.tokens, name);
    assert.deepEqual(b.lengths, batch.lengths_with_specials, name);
    for (const model of ['esm2_t3_tiny', 'esm1b_t3_tiny']) {
      const npy = readNpyInt64(`tokens/${model}/${name}/tokens.npy`);
      assert.deepEqual(npy.shape, [...b.tokens.shape], `${model}/${name}`);
      assert.deepEqual(b.tokens.data, npy.data, `${model}/${name}`);
    }
  }
  assert.equal(inputs.long?.sequences[0]?.length, 1030);
});

test('truncation happens before BOS/EOS and padTo widens with pad', () => {
  const b = batchConvert([{ label: 'a', sequence: 'MK<mask>VLA' }], { truncationSeqLength: 3, padTo: 8 });
  assert.deepEqual(rows(b.tokens.data, b.tokens.shape), [[0, 20, 15, 32, 2, 1, 1, 1]]);
  assert.deepEqual(b.lengths, [5]);
  const edge = batchConvert(['MKVL', 'MKV'], { truncationSeqLength: 3 });
  assert.deepEqual(rows(edge.tokens.data, edge.tokens.shape), [[0, 20, 15, 7, 2], [0, 20, 15, 7, 2]]);
  const narrow = batchConvert(['MKV'], { padTo: 2 });
  assert.deepEqual(narrow.tokens.shape, [1, 5]);
});

test('batchConvert rejects bad options and names the failing sequence', () => {
  assert.throws(() => batchConvert([]), (e) => isProtdistilError(e, 'data'));
  for (const t of [0, -1, 2.5]) {
    assert.throws(() => batchConvert(['MK'], { truncationSeqLength: t }), (e) => isProtdistilError(e, 'config') && e.message.includes(String(t)));
  }
  assert.throws(() => batchConvert(['MK'], { padTo: -3 }), (e) => isProtdistilError(e, 'config'));
  const msg = dataErrorMessage(() => batchConvert([{ label: 'ok', sequence: 'MK' }, { label: 'bad one', sequence: 'MKZj' }]));
  assert.ok(msg.includes('"bad one"') && msg.includes('"j" at position 3'), msg);
  const unnamed = dataErrorMessage(() => batchConvert(['MK', 'A?']));
  assert.ok(unnamed.includes('"#1"'), unnamed);
  const unk = batchConvert(['MJ'], { unknown: 'unk' });
  assert.deepEqual(rows(unk.tokens.data, unk.tokens.shape), [[0, 20, 3, 2]]);
});
