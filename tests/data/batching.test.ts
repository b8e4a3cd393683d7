import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  POWER_OF_TWO_BUCKETS,
  bucketLength,
  getBatchIndices,
  multiplesOf,
  padTokens,
  tokenBatches,
} from '../../src/data/batching.js';
import { batchConvert } from '../../src/data/tokenizer.js';
import { isProtdistilError } from '../../src/errors.js';
import { hostArray } from '../../src/tensor/host-array.js';
import { readFixtureJson, rows } from './fixtures.js';

interface BatchCase { lengths: number[]; toks_per_batch: number; extra_toks_per_seq: number; batches: number[][] }
const cases = readFixtureJson<{ get_batch_indices: BatchCase[] }>('tokenization.json').get_batch_indices;
const inputs = readFixtureJson<Record<string, { labels: string[]; sequences: string[] }>>('inputs.json');

test('every fair-esm get_batch_indices case', () => {
  assert.equal(cases.length, 5);
  for (const c of cases) {
    assert.deepEqual(getBatchIndices(c.lengths, c.toks_per_batch, c.extra_toks_per_seq), c.batches, JSON.stringify(c));
  }
});

test('ties keep input order; over-budget sequences get a batch of their own', () => {
  assert.deepEqual(getBatchIndices([3, 3, 3, 3], 8, 1), [[0, 1], [2, 3]]);
  assert.deepEqual(getBatchIndices([50, 2, 60], 10), [[1], [0], [2]]);
  assert.deepEqual(getBatchIndices([], 10), []);
  assert.deepEqual(getBatchIndices([4, 4, 4], 12), [[0, 1, 2]]);
  assert.deepEqual(getBatchIndices([4, 4, 4], 11), [[0, 1], [2]]);
});

test('getBatchIndices validates its budget', () => {
  assert.throws(() => getBatchIndices([1], 0), (e) => isProtdistilError(e, 'config'));
  assert.throws(() => getBatchIndices([1], 10, -1), (e) => isProtdistilError(e, 'config'));
});

test('bucketLength rounds up to the next bucket; longer lengths pass through', () => {
  assert.deepEqual([1, 8, 9, 40, 64, 65, 1000, 1024].map((t) => bucketLength(t)), [8, 8, 16, 64, 64, 128, 1024, 1024]);
  assert.equal(bucketLength(1030), 1030);
  const b32 = multiplesOf(32, 1024);
  assert.equal(b32.length, 32);
  assert.deepEqual([0, 1, 32, 33, 1000].map((t) => bucketLength(t, b32)), [32, 32, 32, 64, 1024]);
  assert.deepEqual([...POWER_OF_TWO_BUCKETS], [8, 16, 32, 64, 128, 256, 512, 1024]);
});

test('bucketLength and multiplesOf reject malformed input', () => {
  for (const buckets of [[32, 16], [0, 8], [8, 8], [1.5]]) {
    assert.throws(() => bucketLength(4, buckets), (e) => isProtdistilError(e, 'config'));
  }
  assert.throws(() => bucketLength(-1), (e) => isProtdistilError(e, 'config'));
  assert.throws(() => multiplesOf(0, 8), (e) => isProtdistilError(e, 'config'));
  assert.throws(() => multiplesOf(16, 8), (e) => isProtdistilError(e, 'config'));
});

test('padTokens appends pad columns for int64 and int32', () => {
  const t64 = hostArray('int64', [2, 3], new BigInt64Array([0n, 5n, 2n, 0n, 2n, 1n]));
  const w64 = padTokens(t64, 5);
  assert.deepEqual(rows(w64.data, w64.shape), [[0, 5, 2, 1, 1], [0, 2, 1, 1, 1]]);
  assert.ok(w64.data instanceof BigInt64Array);
  const t32 = hostArray('int32', [2, 3], new Int32Array([0, 5, 2, 0, 2, 1]));
  const w32 = padTokens(t32, 4);
  assert.deepEqual(rows(w32.data, w32.shape), [[0, 5, 2, 1], [0, 2, 1, 1]]);
  assert.equal(padTokens(t32, 3), t32);
  assert.throws(() => padTokens(t32, 2), (e) => isProtdistilError(e, 'shape'));
});

test('tokenBatches builds each batch with batchConvert, ordered as extract.py', () => {
  const main = inputs.main!;
  const recs = main.labels.map((label, i) => ({ label, sequence: main.sequences[i] as string }));
  const batches = [...tokenBatches(recs, { toksPerBatch: 80, extraToksPerSeq: 1, truncationSeqLength: 1022 })];
  const lengths = recs.map((r) => r.sequence.length);
  assert.deepEqual(batches.map((b) => b.indices), getBatchIndices(lengths, 80, 1));
  assert.deepEqual(batches.map((b) => b.indices), [[3, 2], [1, 0]]);
  for (const b of batches) {
    const rowsIn = b.indices.map((i) => recs[i]!);
    const want = batchConvert(rowsIn, { truncationSeqLength: 1022 });
    assert.deepEqual(b.tokens, want.tokens);
    assert.deepEqual(b.labels, rowsIn.map((r) => r.label));
  }
});

test('batch sizes use raw string length, as fair-esm (a literal <mask> counts 6)', () => {
  const seqs = ['A<mask>', 'MKVLA'];
  const batches = [...tokenBatches(seqs, { toksPerBatch: 7 })];
  assert.deepEqual(batches.map((b) => b.indices), [[1], [0]]);
  assert.deepEqual(rows(batches[1]!.tokens.data, batches[1]!.tokens.shape), [[0, 5, 32, 2]]);
  assert.deepEqual(batches[1]!.labels, ['#0']);
});

test('bucketed batches pad T up to a bucket with <pad>', () => {
  const seqs = ['MKV', 'MKVLAGVSERTIDPKQNFYM', 'LL'];
  const batches = [...tokenBatches(seqs, { toksPerBatch: 1000, buckets: [8, 16, 32], dtype: 'int32' })];
  assert.equal(batches.length, 1);
  const b = batches[0]!;
  assert.deepEqual(b.tokens.shape, [3, 32]);
  assert.ok(b.tokens.data instanceof Int32Array);
  const plain = batchConvert([seqs[2]!, seqs[0]!, seqs[1]!], { dtype: 'int32' });
  const got = rows(b.tokens.data, b.tokens.shape);
  rows(plain.tokens.data, plain.tokens.shape).forEach((r, i) => {
    assert.deepEqual(got[i], [...r, ...new Array<number>(32 - r.length).fill(1)]);
  });
  assert.deepEqual(b.lengths, [4, 5, 22]);
});
