import assert from 'node:assert/strict';
import { test } from 'node:test';
import { esmPreset } from '../../../src/models/esm/config.js';
import { ESM_INIT_STD, initEsmWeights } from '../../../src/models/esm/init.js';
import { createEsmModel } from '../../../src/models/esm/model.js';
import { Rng } from '../../../src/tensor/random.js';

function stats(a: Float32Array): { mean: number; std: number } {
  let s = 0;
  for (const x of a) s += x;
  const mean = s / a.length;
  let v = 0;
  for (const x of a) v += (x - mean) ** 2;
  return { mean, std: Math.sqrt(v / a.length) };
}

for (const preset of ['student-s', 'esm2-8m']) {
  test(`${preset}: HF ESM init (N(0, 0.02) weights, zero biases and padding row, LayerNorm 1/0)`, () => {
    const model = createEsmModel(esmPreset(preset), new Rng(1));
    initEsmWeights(model, new Rng(2));
    const E = model.config.embedDim;
    for (const [name, a] of model.stateDict()) {
      const d = a.data as Float32Array;
      if (/layerNorm.*weight$|LayerNorm.*weight$/i.test(name) && a.shape.length === 1) assert.ok(d.every((x) => x === 1), `${name} ones`);
      else if (name.endsWith('bias')) assert.ok(d.every((x) => x === 0), `${name} zeros`);
      else {
        const { mean, std } = stats(d);
        // Embedding tables hold zero rows (padding, and <mask> for ESM-1b): compare the others.
        const rows = name.startsWith('embed') ? a.shape[0] as number : 1;
        const zeroRows = name === 'embedTokens.weight' ? (model.config.arch === 'esm1b' ? 2 : 1) : name === 'embedPositions.weight' ? 1 : 0;
        const scale = Math.sqrt(rows / (rows - zeroRows));
        assert.ok(Math.abs(std * scale - ESM_INIT_STD) < 0.1 * ESM_INIT_STD, `${name}: std ${std * scale}`);
        assert.ok(Math.abs(mean) < 0.2 * ESM_INIT_STD, `${name}: mean ${mean}`);
      }
    }
    const tok = model.embedTokens.weight.node.realized as Float32Array;
    assert.ok(tok.subarray(model.config.paddingIdx * E, (model.config.paddingIdx + 1) * E).every((x) => x === 0), 'padding row');
    const maskRow = tok.subarray(model.config.maskIdx * E, (model.config.maskIdx + 1) * E);
    assert.equal(maskRow.every((x) => x === 0), model.config.arch === 'esm1b', 'ESM-1b <mask> row is zero (as fair-esm loads it), ESM-2 keeps it');
  });
}
