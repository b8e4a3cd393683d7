import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SPECIAL_IDS } from '../../src/data/alphabet.js';
import { IGNORE_INDEX, maskTokens } from '../../src/data/masking.js';
import { Rng } from '../../src/tensor/random.js';
import { batchConvert } from '../../src/data/tokenizer.js';
import { isProtdistilError } from '../../src/errors.js';

function bigBatch(): ReturnType<typeof batchConvert> {
  const letters = 'LAGVSERTIDPKQNFYMHWCXBUZO.-';
  const r = new Rng(2);
  const seqs = Array.from({ length: 64 }, () => {
    let s = '';
    const len = 200 + r.int(800);
    for (let i = 0; i < len; i++) s += letters[r.int(letters.length)];
    return s;
  });
  return batchConvert(seqs);
}

test('masking is deterministic for a seed and leaves the input untouched', () => {
  const batch = batchConvert(['MKTVRQERLKSIVRILERSKEPVSGAQL', 'KAL']);
  const before = batch.tokens.data.slice();
  const a = maskTokens(batch.tokens, new Rng(4));
  const b = maskTokens(batch.tokens, new Rng(4));
  assert.deepEqual(a.tokens.data, b.tokens.data);
  assert.deepEqual(a.targets.data, b.targets.data);
  assert.deepEqual(batch.tokens.data, before);
  assert.equal(a.tokens.dtype, 'int64');
  assert.deepEqual(a.targets.shape, batch.tokens.shape);
});

test('specials are never selected; targets are the original at selected positions and -100 elsewhere', () => {
  const batch = bigBatch();
  const { tokens, targets, selected } = maskTokens(batch.tokens, new Rng(10));
  const orig = batch.tokens.data;
  let count = 0;
  for (let i = 0; i < orig.length; i++) {
    const o = Number(orig[i]);
    const t = Number(targets.data[i]);
    const x = Number(tokens.data[i]);
    if ([0, 1, 2, 3, 31, 32].includes(o)) {
      assert.equal(t, IGNORE_INDEX);
      assert.equal(x, o);
    }
    if (t === IGNORE_INDEX) {
      assert.equal(x, o, `unselected position ${i} changed`);
    } else {
      count++;
      assert.equal(t, o);
      assert.ok(x === SPECIAL_IDS.mask || x === o || (x >= 4 && x <= 23), `replacement ${x}`);
    }
  }
  assert.equal(count, selected);
});

test('rates are 15% selected, then 80% mask / 10% random standard residue / 10% kept', () => {
  const batch = bigBatch();
  const { tokens, targets } = maskTokens(batch.tokens, new Rng(10));
  const orig = batch.tokens.data;
  let eligible = 0;
  let selected = 0;
  let masked = 0;
  let changedToResidue = 0;
  let kept = 0;
  for (let i = 0; i < orig.length; i++) {
    const o = Number(orig[i]);
    if (o >= 4 && o <= 30) eligible++;
    if (Number(targets.data[i]) === IGNORE_INDEX) continue;
    selected++;
    const x = Number(tokens.data[i]);
    if (x === SPECIAL_IDS.mask) masked++;
    else if (x !== o) changedToResidue++;
    else kept++;
  }
  assert.ok(eligible > 30_000, `eligible ${eligible}`);
  const p = selected / eligible;
  // binomial sd of the rate: sqrt(.15 * .85 / 30000) ~ 2e-3; 5 sigma
  assert.ok(Math.abs(p - 0.15) < 0.01, `selected rate ${p}`);
  assert.ok(Math.abs(masked / selected - 0.8) < 0.03, `mask rate ${masked / selected}`);
  // a random residue equals the original 1 time in 20 (when the original is standard), so the
  // "changed" share is a little under 10% and "kept" a little over
  assert.ok(Math.abs(changedToResidue / selected - 0.1) < 0.02, `random rate ${changedToResidue / selected}`);
  assert.ok(Math.abs(kept / selected - 0.1) < 0.02, `kept rate ${kept / selected}`);
});

test('int32 input gives int32 outputs; probabilities are validated', () => {
  const batch = batchConvert(['MKTVRQERLKSIVRILERSKEPVSGAQL'], { dtype: 'int32' });
  const all = maskTokens(batch.tokens, new Rng(1), { selectProb: 1, maskProb: 1, randomProb: 0 });
  assert.ok(all.tokens.data instanceof Int32Array);
  assert.deepEqual([...all.tokens.data], [0, ...new Array<number>(28).fill(32), 2]);
  assert.equal(all.selected, 28);
  const none = maskTokens(batch.tokens, new Rng(1), { selectProb: 0 });
  assert.deepEqual([...none.targets.data], new Array<number>(30).fill(-100));
  assert.throws(() => maskTokens(batch.tokens, new Rng(1), { maskProb: 0.95, randomProb: 0.1 }), (e) => isProtdistilError(e, 'config'));
  assert.throws(() => maskTokens(batch.tokens, new Rng(1), { selectProb: 1.5 }), (e) => isProtdistilError(e, 'config'));
});
