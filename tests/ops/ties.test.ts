import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relu } from '../../src/nn/functional/activations.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { checkOpGolden, opGoldenCases, type OpGoldenFn } from '../helpers/op-goldens.js';

/**
 * Gradients at exact ties against PyTorch (tests/fixtures/golden/ties.json, written by
 * scripts/golden/make_op_goldens.py): torch.maximum/minimum split the gradient evenly between
 * equal operands; amax/amin and max()/min() over all elements share it evenly among tied
 * extrema; clamp passes it at x == bound; relu passes none at 0. The random op cases never draw
 * ties, so these are the only tests of those rules.
 */

const t = (x: Readonly<Record<string, Tensor>>, k: string): Tensor => x[k] as Tensor;

const OURS: Readonly<Record<string, OpGoldenFn>> = {
  'maximum ties broadcast': (x) => t(x, 'a').maximum(t(x, 'b')),
  'minimum ties broadcast': (x) => t(x, 'a').minimum(t(x, 'b')),
  'maximum with a scalar at ties': (x) => t(x, 'x').maximum(0),
  'relu at zero': (x) => relu(t(x, 'x')),
  'amax dim 1 with ties': (x) => t(x, 'x').max(1),
  'amin dim 1 with ties': (x) => t(x, 'x').min(1),
  'max of all elements with ties': (x) => t(x, 'x').max(),
  'min of all elements with ties': (x) => t(x, 'x').min(),
  'amax dims 0,2 keepdim with ties': (x) => t(x, 'x').max([0, 2], true),
  'clamp at both bounds': (x) => t(x, 'x').clamp(-0.5, 1),
  'clamp min at the bound': (x) => t(x, 'x').clamp(0),
  'clamp max at the bound': (x) => t(x, 'x').clamp(undefined, 0.25),
};

const cases = opGoldenCases('ties');

test('every tie case of the fixture has our expression and the other way round', () => {
  assert.deepEqual([...cases.keys()].sort(), Object.keys(OURS).sort());
});

for (const [name, stored] of cases) {
  test(`matches PyTorch at ties: ${name}`, async () => {
    const f = OURS[name];
    assert.ok(f !== undefined, `no expression for ${name}`);
    await checkOpGolden(name, stored, f);
  });
}
