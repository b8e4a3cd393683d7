import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SPECIAL_IDS } from '../../src/data/alphabet.js';
import type { SequenceSet } from '../../src/data/sequence-set.js';
import { encode } from '../../src/data/tokenizer.js';
import { corruptedRow, maskedPerplexity, modelLogits, scoredPositions, type LogitsFn } from '../../src/eval/perplexity.js';
import { parseEsmConfig } from '../../src/models/esm/config.js';
import { initEsmWeights } from '../../src/models/esm/init.js';
import { createEsmModel } from '../../src/models/esm/model.js';
import { hostArray } from '../../src/tensor/host-array.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { randomProteins } from '../distill/helpers.js';

const seqs = [...randomProteins(12, 5, 15, 60), 'MKXXXBZACDE'];
const set: SequenceSet = { source: 'test', labels: seqs.map((_, i) => `p${i}`), ids: seqs.map((s) => Uint8Array.from(encode(s))), residues: 0 };
const scored = scoredPositions(set, { seed: 11, masks: 2 });

test('scored positions: standard residues only, ~15 %, the same for a seed, different for another', () => {
  let n = 0;
  let residues = 0;
  for (const s of scored) {
    for (const p of s.positions) assert.ok(s.ids[p]! >= 4 && s.ids[p]! <= 23, 'a standard amino acid');
    n += s.positions.length;
    residues += s.ids.length;
  }
  assert.ok(Math.abs(n / residues - 0.15) < 0.05, `fraction ${n / residues}`);
  assert.deepEqual(scoredPositions(set, { seed: 11, masks: 2 }), scored);
  assert.notDeepEqual(scoredPositions(set, { seed: 12, masks: 2 }).map((s) => [...s.positions]), scored.map((s) => [...s.positions]));
  const last = scored.find((s) => s.index === seqs.length - 1)!;
  for (const p of last.positions) assert.ok(!'XBZ'.includes(seqs[seqs.length - 1]![p]!), 'X/B/Z are never targets');
});

test('pure rule: no scored position holds its true residue; bert rule: the same positions, ~10 % unchanged', () => {
  let kept = 0;
  let total = 0;
  for (const s of scored) {
    const pure = corruptedRow(s, 'pure');
    const bert = corruptedRow(s, 'bert');
    assert.equal(pure[0], SPECIAL_IDS.cls);
    assert.equal(pure[pure.length - 1], SPECIAL_IDS.eos);
    s.positions.forEach((p) => {
      assert.equal(pure[p + 1], SPECIAL_IDS.mask);
      if (bert[p + 1] === s.ids[p]) kept++;
      total++;
    });
    // Unscored positions are untouched under both rules.
    for (let p = 0; p < s.ids.length; p++) if (!s.positions.includes(p)) assert.ok(pure[p + 1] === s.ids[p] && bert[p + 1] === s.ids[p]);
  }
  assert.ok(kept > 0 && kept / total < 0.25, `kept ${kept} of ${total}`);
});

test('perplexity is exp of the mean cross-entropy at scored positions, computed independently', async () => {
  const cfg = parseEsmConfig({ arch: 'esm2', numLayers: 2, embedDim: 32, attentionHeads: 4, ffnDim: 64, tokenDropout: true });
  const model = createEsmModel(cfg, new Rng(1));
  initEsmWeights(model, new Rng(2));
  // Make the model far from uniform so that the test is not passed by a constant.
  for (const [, p] of model.namedParameters()) p.assign(Float32Array.from(p.node.realized as Float32Array, (x, i) => x + 0.05 * Math.sin(i)));
  const logits = await modelLogits(model);
  const res = await maskedPerplexity(logits, scored, 'pure', { toksPerBatch: 100 });
  let nll = 0;
  let n = 0;
  let correct = 0;
  for (const s of scored) {
    if (s.positions.length === 0) continue;
    const row = corruptedRow(s, 'pure');
    const z = (await model.forward(Tensor.from(BigInt64Array.from(row, BigInt), [1, row.length], 'int64')).logits.toArray()) as Float32Array;
    const V = 33;
    for (const p of s.positions) {
      const zs = [...z.subarray((p + 1) * V, (p + 2) * V)];
      const m = Math.max(...zs);
      const lse = m + Math.log(zs.reduce((a, x) => a + Math.exp(x - m), 0));
      nll += lse - zs[s.ids[p]!]!;
      if (zs.indexOf(m) === s.ids[p]) correct++;
      n++;
    }
  }
  assert.equal(res.scored, n);
  assert.ok(Math.abs(res.perplexity - Math.exp(nll / n)) < 1e-4 * res.perplexity, `${res.perplexity} vs ${Math.exp(nll / n)}`);
  assert.equal(res.accuracy, correct / n);
  assert.equal(res.sequences, seqs.length);
});

test('a model that copies its input scores far better under 80/10/10 than under pure masking', async () => {
  const copy: LogitsFn = async (tokens) => {
    const [B, T] = tokens.shape as [number, number];
    const z = new Float32Array(B * T * 33);
    for (let i = 0; i < B * T; i++) z[i * 33 + Number(tokens.data[i])] = 20;
    return hostArray('float32', [B, T, 33], z);
  };
  const pure = await maskedPerplexity(copy, scored, 'pure');
  const bert = await maskedPerplexity(copy, scored, 'bert');
  assert.ok(pure.perplexity > 30, `pure ${pure.perplexity}`);
  assert.ok(bert.perplexity < pure.perplexity / 2, `bert ${bert.perplexity} vs pure ${pure.perplexity}`);
  assert.equal(pure.accuracy, 0);
  assert.equal(bert.scored, pure.scored);
});

test('pseudo-perplexity masks each standard residue alone and scores it from the rest', async () => {
  const seen: string[] = [];
  // A model that puts probability 1/2 on the true residue of the masked position and spreads
  // the rest: its pseudo-perplexity is computed by hand below.
  const oracle: LogitsFn = async (tokens) => {
    const [B, T] = tokens.shape as [number, number];
    const z = new Float32Array(B * T * 33);
    for (let b = 0; b < B; b++) {
      const row = [...tokens.data.subarray(b * T, (b + 1) * T)].map(Number);
      seen.push(row.map((x) => (x === SPECIAL_IDS.mask ? '#' : '.')).join(''));
      const p = row.indexOf(SPECIAL_IDS.mask);
      assert.equal(row.filter((x) => x === SPECIAL_IDS.mask).length, 1, 'exactly one residue masked per row');
      const seqIndex = set.ids.findIndex((ids) => ids.length === T - 2 && ids.every((v, j) => j === p - 1 || v === row[j + 1]));
      const truth = set.ids[seqIndex]![p - 1]!;
      // logit ln(32) on the truth, 0 on the 32 others: p(truth) = 32 / 64 = 1/2.
      z[(b * T + p) * 33 + truth] = Math.log(32);
    }
    return hostArray('float32', [B, T, 33], z);
  };
  const { pseudoPerplexity } = await import('../../src/eval/perplexity.js');
  const small: SequenceSet = { ...set, ids: set.ids.slice(-2) };
  const r = await pseudoPerplexity(oracle, small, { toksPerBatch: 64 });
  const standard = small.ids.reduce((n, ids) => n + [...ids].filter((v) => v >= 4 && v <= 23).length, 0);
  assert.equal(r.scored, standard, 'every standard residue once (X, B, Z skipped)');
  assert.equal(r.rule, 'pseudo');
  assert.ok(Math.abs(r.perplexity - 2) < 1e-5, `pseudo-perplexity ${r.perplexity}`);
  assert.equal(r.accuracy, 1);
  assert.equal(new Set(seen).size, seen.length, 'no position is scored twice');
});
