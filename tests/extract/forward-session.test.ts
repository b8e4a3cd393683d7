import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noGrad } from '../../src/autograd/mode.js';
import { batchConvert } from '../../src/data/tokenizer.js';
import { EsmForwardSession } from '../../src/extract/forward-session.js';
import { loadFairEsm } from '../../src/io/esm/fair-esm.js';
import { realize } from '../../src/runtime/realize.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { checkpointPaths, MODELS } from '../models/esm/fixtures.js';
import { maxAbsDiff } from '../helpers/numeric.js';

// One session compiled with symbolic (batch, length) must give the engine's static-shape results at
// every shape, including B = 1 and lengths unlike the trace sizes.

const RESIDUES = 'LAGVSERTIDPKQNFYMHWCXBUZO';

function randomBatch(rng: Rng, b: number, maxLen: number): string[] {
  return Array.from({ length: b }, (_, i) => {
    const n = i === 0 ? maxLen : 1 + rng.int(maxLen);
    let s = '';
    for (let j = 0; j < n; j++) s += rng.uniform() < 0.05 ? '<mask>' : RESIDUES[rng.int(20)];
    return s;
  });
}

for (const name of MODELS) {
  test(`${name}: the symbolic session equals the static engine forward at many shapes`, async () => {
    const loaded = loadFairEsm(checkpointPaths(name).pt);
    const model = loaded.model;
    const session = await EsmForwardSession.create(model, { reprLayers: [0, 2, 3], logits: true, contacts: true }, { maxTokens: 130 });
    const rng = new Rng(11);
    for (const [b, len] of [[1, 1], [1, 7], [2, 40], [5, 17], [3, 128]] as const) {
      const tokens = batchConvert(randomBatch(rng, b, len)).tokens;
      const got = await session.run(tokens);
      const ref = noGrad(() => model.forward(Tensor.fromHost(tokens), { reprLayers: [0, 2, 3], returnContacts: true }));
      await realize(ref.logits, ...[0, 2, 3].map((l) => ref.representations.get(l) as Tensor), ref.contacts as Tensor);
      const T = tokens.shape[1] as number;
      assert.deepEqual(got.logits?.shape, [b, T, 33]);
      assert.deepEqual(got.contacts?.shape, [b, T - 2, T - 2]);
      assert.ok(maxAbsDiff(got.logits?.data as Float32Array, (await ref.logits.toArray()) as Float32Array) < 1e-4, `logits ${b}x${T}`);
      assert.ok(maxAbsDiff(got.contacts?.data as Float32Array, (await (ref.contacts as Tensor).toArray()) as Float32Array) < 1e-5, `contacts ${b}x${T}`);
      for (const l of [0, 2, 3]) {
        const r = (await (ref.representations.get(l) as Tensor).toArray()) as Float32Array;
        assert.ok(maxAbsDiff(got.representations.get(l)?.data as Float32Array, r) < 1e-4, `layer ${l} ${b}x${T}`);
      }
    }
    await assert.rejects(session.run(batchConvert(['A'.repeat(200)]).tokens), /exceed the 130/);
    // Only empty sequences: contacts of a 0-residue block still work.
    const empty = await session.run(batchConvert(['', '']).tokens);
    assert.deepEqual(empty.representations.get(3)?.shape[0], 2);
    assert.equal(empty.contacts?.shape[0], 2);
  });
}
