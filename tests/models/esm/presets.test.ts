import assert from 'node:assert/strict';
import { test } from 'node:test';
import { esmPreset } from '../../../src/models/esm/config.js';
import { createEsmModel, NoInit } from '../../../src/models/esm/model.js';

// Parameter counts of the masked-LM models (no contact head), as the distillation study and the
// released ESM-2 models state them.
const EXPECTED: readonly [string, number, string, number, number, number][] = [
  ['student-s', 1_212_705, 'esm1b', 8, 128, 2],
  ['student-m', 5_609_505, 'esm1b', 10, 256, 4],
  ['student-l', 33_705_249, 'esm1b', 28, 384, 6],
  ['esm2-8m', 7_512_353, 'esm2', 6, 320, 20],
  ['esm2-35m', 33_501_153, 'esm2', 12, 480, 20],
];

for (const [name, params, arch, layers, dim, heads] of EXPECTED) {
  test(`preset ${name}: ${arch}, ${layers} layers, dim ${dim}, ${heads} heads, ${params.toLocaleString('en-US')} parameters`, () => {
    const c = esmPreset(name);
    assert.deepEqual([c.arch, c.numLayers, c.embedDim, c.attentionHeads], [arch, layers, dim, heads]);
    assert.equal(c.ffnDim, arch === 'esm1b' ? 2 * dim : 4 * dim);
    if (arch === 'esm1b') assert.equal(c.maxPositions + c.paddingIdx + 1, 1026, 'learned position rows');
    assert.equal(createEsmModel(c, new NoInit()).numParameters(), params);
  });
}
