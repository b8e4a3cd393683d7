import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toyBatch, trainToyMlm } from '../../src/demo/toy-mlm.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';

// End to end: a 2-layer ESM-2-style transformer, one compiled ONNX run per training step, learns
// to fill masked positions of repeated motifs. Chance level is ln(20) ≈ 3.0 nats.
test('a 2-layer transformer learns a toy masked-token task (loss falls clearly, masked accuracy high)', async () => {
  const { history, model } = await trainToyMlm({ steps: 300, batch: 16, length: 24, lr: 1e-2, seed: 7 });
  const first = history.slice(0, 5).reduce((a, r) => a + r.loss, 0) / 5;
  const last = history.slice(-10).reduce((a, r) => a + r.loss, 0) / 10;
  assert.ok(first > 2.5, `initial loss ${first} should be near chance`);
  assert.ok(last < 0.5, `final loss ${last} should be far below chance`);
  // Held-out batch: predictions at masked positions.
  const { tokens, targets } = toyBatch(new Rng(12345), 32, 24);
  const logits = model.forward(Tensor.fromHost(tokens)).logits;
  const pred = logits.softmax(-1);
  const p = (await pred.toArray()) as Float32Array;
  let right = 0;
  let total = 0;
  for (let i = 0; i < targets.data.length; i++) {
    const t = Number(targets.data[i]);
    if (t < 0) continue;
    total++;
    let best = 0;
    for (let v = 1; v < 33; v++) if ((p[i * 33 + v] as number) > (p[i * 33 + best] as number)) best = v;
    if (best === t) right++;
  }
  assert.ok(total > 50, `enough masked positions (${total})`);
  assert.ok(right / total > 0.9, `masked accuracy ${(right / total).toFixed(3)} should exceed 0.9`);
});
