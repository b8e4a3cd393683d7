import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SPECIAL_IDS } from '../../src/data/alphabet.js';
import { IGNORE_INDEX } from '../../src/data/masking.js';
import { MlmStream } from '../../src/data/mlm-stream.js';
import type { SequenceSet } from '../../src/data/sequence-set.js';
import { encode } from '../../src/data/tokenizer.js';
import { randomProteins } from '../distill/helpers.js';
import { assertFails } from '../helpers/errors.js';

const seqs = randomProteins(50, 3, 10, 200);
const set: SequenceSet = { source: 'test', labels: seqs.map((_, i) => `p${i}`), ids: seqs.map((s) => Uint8Array.from(encode(s))), residues: seqs.reduce((n, s) => n + s.length, 0) };
const opts = { seed: 7, crop: 64, batchSize: 8, maskProb: 0.15 };

const rowsOf = (b: { tokens: { shape: readonly number[]; data: BigInt64Array } }): number[][] => {
  const [B, T] = b.tokens.shape as [number, number];
  return Array.from({ length: B }, (_, r) => [...b.tokens.data.subarray(r * T, (r + 1) * T)].map(Number));
};

test('every sequence appears exactly once per epoch; the order changes between epochs', () => {
  const s = new MlmStream(set, opts);
  for (const epoch of [0, 1]) {
    const all = s.plan(epoch).flat().sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: 50 }, (_, i) => i));
  }
  assert.notDeepEqual(s.plan(0), s.plan(1));
});

test('batches are pure functions of (seed, epoch, index): rebuilt streams give identical batches', () => {
  const a = new MlmStream(set, opts);
  const b = new MlmStream(set, opts);
  b.plan(3); // touching other epochs first changes nothing
  for (const [e, i] of [[0, 0], [0, 4], [2, 1]] as const) {
    const x = a.batch(e, i);
    const y = b.batch(e, i);
    assert.deepEqual(x.tokens, y.tokens);
    assert.deepEqual(x.targets, y.targets);
  }
  const c = new MlmStream(set, { ...opts, seed: 8 });
  assert.notDeepEqual(c.batch(0, 0).tokens.data, a.batch(0, 0).tokens.data);
});

test('rows are BOS + a crop window of the sequence + EOS, padded to a bucket; masks only on residues', () => {
  const s = new MlmStream(set, opts);
  let masked = 0;
  let selected = 0;
  let residues = 0;
  for (let i = 0; i < s.batchesPerEpoch(); i++) {
    const b = s.batch(1, i);
    const [B, T] = b.tokens.shape as [number, number];
    assert.equal(B, Math.min(8, b.rows.length));
    assert.ok(T % 32 === 0 || T === 66, `padded length ${T}`);
    const tgt = b.targets.data;
    rowsOf(b).forEach((row, r) => {
      const seq = set.ids[b.rows[r] as number] as Uint8Array;
      const n = Math.min(seq.length, 64);
      assert.equal(row[0], SPECIAL_IDS.cls);
      assert.equal(row[n + 1], SPECIAL_IDS.eos);
      assert.ok(row.slice(n + 2).every((x) => x === SPECIAL_IDS.pad));
      // The uncorrupted window: targets where selected, else the input.
      const window = row.slice(1, n + 1).map((x, j) => (Number(tgt[r * T + 1 + j]) === IGNORE_INDEX ? x : Number(tgt[r * T + 1 + j])));
      const text = [...seq].join(',');
      assert.ok(text.includes(window.join(',')), 'the row is a contiguous window of its sequence');
      for (let t = 0; t < T; t++) {
        const y = Number(tgt[r * T + t]);
        if (t === 0 || t > n) assert.equal(y, IGNORE_INDEX, 'no target on BOS/EOS/pad');
        else if (y !== IGNORE_INDEX) {
          selected++;
          if (row[t] === SPECIAL_IDS.mask) masked++;
        }
      }
      residues += n;
    });
  }
  assert.ok(Math.abs(selected / residues - 0.15) < 0.03, `selected fraction ${selected / residues}`);
  assert.ok(Math.abs(masked / selected - 0.8) < 0.08, `<mask> fraction of selected ${masked / selected}`);
});

test('token budgets: rows x padded length stays within --toks-per-batch', () => {
  const s = new MlmStream(set, { seed: 1, crop: 64, toksPerBatch: 300, maskProb: 0.15 });
  for (let i = 0; i < s.batchesPerEpoch(); i++) {
    const [B, T] = s.batch(0, i).tokens.shape as [number, number];
    assert.ok(B * T <= 300, `${B} x ${T}`);
  }
});

test('bad stream settings are config errors', () => {
  assertFails(() => new MlmStream(set, { seed: 1, crop: 0, batchSize: 4, maskProb: 0.15 }), 'config', 'crop');
  assertFails(() => new MlmStream(set, { seed: 1, crop: 64, maskProb: 0.15 }), 'config', 'exactly one');
  assertFails(() => new MlmStream(set, { seed: 1, crop: 64, toksPerBatch: 10, maskProb: 0.15 }), 'config', 'crop + 2');
  assertFails(() => new MlmStream(set, { seed: 1, crop: 64, batchSize: 4, maskProb: 1.5 }), 'config', 'mask probability');
});

test('a mask cycle of K reuses the crops and masks of epoch e mod K and keeps the batch order; batches hold row(draw, i)', () => {
  const plain = new MlmStream(set, opts);
  const cyc = new MlmStream(set, { ...opts, maskCycle: 2 });
  let differ = 0;
  for (const epoch of [0, 1, 2, 3]) {
    assert.deepEqual(cyc.plan(epoch), plain.plan(epoch), 'batch order still changes every epoch');
    for (const index of [0, 3]) {
      const b = cyc.batch(epoch, index);
      const T = b.tokens.shape[1] as number;
      b.rows.forEach((seq, r) => {
        const want = plain.row(epoch % 2, seq);
        assert.equal(cyc.rowLength(seq), want.tokens.length);
        assert.deepEqual(b.tokens.data.subarray(r * T, r * T + want.tokens.length), want.tokens);
        assert.deepEqual(b.targets.data.subarray(r * T, r * T + want.tokens.length), want.targets);
        if (epoch >= 2 && plain.row(epoch, seq).targets.join() !== want.targets.join()) differ++;
      });
    }
  }
  assert.ok(differ > 0, 'without the cycle, epochs 2 and 3 draw new masks');
  assertFails(() => new MlmStream(set, { ...opts, maskCycle: 0 }), 'config', 'mask cycle must be a positive integer');
});
