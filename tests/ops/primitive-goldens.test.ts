import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gelu } from '../../src/nn/functional/activations.js';
import type { OpKind } from '../../src/ops/kinds.js';
import { primitiveTable } from '../../src/ops/primitive-table.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { buildCase, checkOpGolden, opGoldenCases, opKindsIn, type OpGoldenFn } from '../helpers/op-goldens.js';

/**
 * Every primitive's forward and gradient against PyTorch (tests/fixtures/golden/primitives.json,
 * written by scripts/golden/make_op_goldens.py). The conformance suite compares each lowering
 * with the float64 reference kernel beside it, so a mistake written into both passes there; here
 * both backends must also match torch. COVERAGE says which case covers each primitive, and the
 * completeness test checks that the named case really runs it (with a gradient flowing through
 * it where the primitive has one).
 */

const t = (x: Readonly<Record<string, Tensor>>, k: string): Tensor => x[k] as Tensor;
const arange = (n: number, shape: readonly number[]): Tensor => Tensor.constant(Array.from({ length: n }, (_, i) => i), shape);

/** Our side of each case of primitives.json (the PyTorch side is in the generator). */
const OURS: Readonly<Record<string, OpGoldenFn>> = {
  'add sub mul div broadcast': (x) => t(x, 'a').add(t(x, 'b')).mul(t(x, 'c')).sub(t(x, 'a').div(t(x, 'd'))),
  'pow tensor and constant exponent': (x) => t(x, 'a').pow(t(x, 'b')).add(t(x, 'a').pow(3)),
  'maximum minimum': (x) => t(x, 'a').maximum(t(x, 'b')).mul(2).add(t(x, 'a').minimum(t(x, 'b'))),
  neg: (x) => t(x, 'x').neg(),
  exp: (x) => t(x, 'x').exp(),
  log: (x) => t(x, 'x').log(),
  sqrt: (x) => t(x, 'x').sqrt(),
  rsqrt: (x) => t(x, 'x').rsqrt(),
  reciprocal: (x) => t(x, 'x').reciprocal(),
  tanh: (x) => t(x, 'x').tanh(),
  erf: (x) => t(x, 'x').erf(),
  abs: (x) => t(x, 'x').abs(),
  sigmoid: (x) => t(x, 'x').sigmoid(),
  'sign times x': (x) => t(x, 'x').sign().mul(t(x, 'x')),
  'comparisons and logic select with where': (v) => {
    const [x, y] = [t(v, 'x'), t(v, 'y')];
    return x.less(y).logicalOr(x.greater(1)).logicalAnd(x.lessEqual(-1).logicalNot()).where(x.mul(y), y.sub(x))
      .add(x.equal(y).where(x, 0))
      .add(x.greaterEqual(y).where(x.mul(2), y));
  },
  'bool to float cast scales': (x) => t(x, 'x').greater(0).cast('float32').mul(t(x, 'y')),
  // Tensor.cast skips same-dtype casts; the primitive itself passes the gradient float32 -> float32.
  'float to float cast': (x) => Tensor.op('cast', [t(x, 'x')], { to: 'float32' }).mul(3),
  'sum axes 0,2': (x) => t(x, 'x').sum([0, 2]),
  'sum all': (x) => t(x, 'x').sum(),
  'mean axis 1 keepdim': (x) => t(x, 'x').mean(1, true),
  'amax axis 2 without ties': (x) => t(x, 'x').max(2),
  'matmul batched broadcast': (x) => t(x, 'a').matmul(t(x, 'b')), // (2, 1, 3, 4) @ (3, 4, 5) -> (2, 3, 3, 5)
  reshape: (x) => t(x, 'x').reshape([4, 6]).mul(arange(6, [6])), // (2, 3, 4) -> (4, 6)
  transpose: (x) => t(x, 'x').transpose([2, 0, 1]).mul(arange(3, [3])), // (2, 3, 4) -> (4, 2, 3)
  slice: (x) => t(x, 'x').slice(0, 1, 3).slice(1, 1, 4),
  'slice to a reference length': (x) => t(x, 'x').sliceTo(0, t(x, 'r'), 1), // (6, 4) -> (3, 4)
  pad: (x) => t(x, 'x').pad([1, 0], [0, 2]).mul(arange(15, [3, 5])), // (2, 3) -> (3, 5)
  concat: (x) => Tensor.concat([t(x, 'a'), t(x, 'b'), t(x, 'd')], 1),
  expand: (x) => t(x, 'x').expand([2, 3, 4]).mul(arange(24, [2, 3, 4])),
  'gather axis 1 with repeats': (x) => t(x, 'x').gather(t(x, 'idx'), 1), // (2, 4, 3) by (2, 2) -> (2, 2, 2, 3)
  'scatterAdd rows with repeats': (x) => Tensor.op('scatterAdd', [t(x, 'base'), t(x, 'idx'), t(x, 'u')], {}),
  'softmax axis 0': (x) => t(x, 'x').softmax(0),
  'logSoftmax last': (x) => t(x, 'x').logSoftmax(-1),
  layerNorm: (x) => t(x, 'x').layerNorm(t(x, 'gamma'), t(x, 'beta'), 1e-5),
  'gelu exact': (x) => gelu(t(x, 'x')),
};

/**
 * Which case of primitives.json checks each primitive's forward and its gradient; `gradient: null`
 * only where none exists (bool results, constants). Typed over OpKind: a new primitive without an
 * entry does not compile, and the completeness test fails at run time too.
 */
const COVERAGE: { readonly [K in OpKind]: { readonly forward: string; readonly gradient: string | null } } = {
  input: { forward: 'add sub mul div broadcast', gradient: 'add sub mul div broadcast' },
  const: { forward: 'pow tensor and constant exponent', gradient: null },
  add: { forward: 'add sub mul div broadcast', gradient: 'add sub mul div broadcast' },
  sub: { forward: 'add sub mul div broadcast', gradient: 'add sub mul div broadcast' },
  mul: { forward: 'add sub mul div broadcast', gradient: 'add sub mul div broadcast' },
  div: { forward: 'add sub mul div broadcast', gradient: 'add sub mul div broadcast' },
  pow: { forward: 'pow tensor and constant exponent', gradient: 'pow tensor and constant exponent' },
  maximum: { forward: 'maximum minimum', gradient: 'maximum minimum' },
  minimum: { forward: 'maximum minimum', gradient: 'maximum minimum' },
  less: { forward: 'comparisons and logic select with where', gradient: null },
  greater: { forward: 'comparisons and logic select with where', gradient: null },
  equal: { forward: 'comparisons and logic select with where', gradient: null },
  lessEqual: { forward: 'comparisons and logic select with where', gradient: null },
  greaterEqual: { forward: 'comparisons and logic select with where', gradient: null },
  and: { forward: 'comparisons and logic select with where', gradient: null },
  or: { forward: 'comparisons and logic select with where', gradient: null },
  not: { forward: 'comparisons and logic select with where', gradient: null },
  neg: { forward: 'neg', gradient: 'neg' },
  exp: { forward: 'exp', gradient: 'exp' },
  log: { forward: 'log', gradient: 'log' },
  sqrt: { forward: 'sqrt', gradient: 'sqrt' },
  rsqrt: { forward: 'rsqrt', gradient: 'rsqrt' },
  reciprocal: { forward: 'reciprocal', gradient: 'reciprocal' },
  tanh: { forward: 'tanh', gradient: 'tanh' },
  erf: { forward: 'erf', gradient: 'erf' },
  abs: { forward: 'abs', gradient: 'abs' },
  sign: { forward: 'sign times x', gradient: 'sign times x' },
  sigmoid: { forward: 'sigmoid', gradient: 'sigmoid' },
  sum: { forward: 'sum axes 0,2', gradient: 'sum axes 0,2' },
  mean: { forward: 'mean axis 1 keepdim', gradient: 'mean axis 1 keepdim' },
  max: { forward: 'amax axis 2 without ties', gradient: 'amax axis 2 without ties' },
  where: { forward: 'comparisons and logic select with where', gradient: 'comparisons and logic select with where' },
  cast: { forward: 'bool to float cast scales', gradient: 'float to float cast' },
  matmul: { forward: 'matmul batched broadcast', gradient: 'matmul batched broadcast' },
  reshape: { forward: 'reshape', gradient: 'reshape' },
  transpose: { forward: 'transpose', gradient: 'transpose' },
  slice: { forward: 'slice', gradient: 'slice' },
  sliceTo: { forward: 'slice to a reference length', gradient: 'slice to a reference length' },
  pad: { forward: 'pad', gradient: 'pad' },
  concat: { forward: 'concat', gradient: 'concat' },
  expand: { forward: 'expand', gradient: 'expand' },
  gather: { forward: 'gather axis 1 with repeats', gradient: 'gather axis 1 with repeats' },
  scatterAdd: { forward: 'scatterAdd rows with repeats', gradient: 'scatterAdd rows with repeats' },
  softmax: { forward: 'softmax axis 0', gradient: 'softmax axis 0' },
  logSoftmax: { forward: 'logSoftmax last', gradient: 'logSoftmax last' },
  layerNorm: { forward: 'layerNorm', gradient: 'layerNorm' },
  gelu: { forward: 'gelu exact', gradient: 'gelu exact' },
};

const cases = opGoldenCases('primitives');

test('every case of primitives.json has our expression and the other way round', () => {
  assert.deepEqual([...cases.keys()].sort(), Object.keys(OURS).sort());
});

test('completeness: every primitive has a PyTorch golden for its forward and its gradient', () => {
  const kinds = Object.keys(primitiveTable()) as OpKind[];
  assert.deepEqual(Object.keys(COVERAGE).sort(), [...kinds].sort(), 'COVERAGE lists exactly the primitives');
  const graphs = new Map<string, ReturnType<typeof opKindsIn>>();
  const graph = (name: string): ReturnType<typeof opKindsIn> => {
    let g = graphs.get(name);
    if (g === undefined) {
      const stored = cases.get(name);
      const f = OURS[name];
      assert.ok(stored !== undefined && f !== undefined, `no golden case '${name}'`);
      g = opKindsIn(buildCase(stored, f).out);
      graphs.set(name, g);
    }
    return g;
  };
  const missing: string[] = [];
  for (const kind of kinds) {
    const cov = COVERAGE[kind];
    if (!graph(cov.forward).all.has(kind)) missing.push(`${kind}: '${cov.forward}' does not run it`);
    if (cov.gradient !== null) {
      if (!graph(cov.gradient).withGrad.has(kind)) missing.push(`${kind}: no gradient flows through it in '${cov.gradient}'`);
    } else if (graph(cov.forward).withGrad.has(kind)) {
      missing.push(`${kind}: a gradient flows through it in '${cov.forward}', so it needs a gradient golden`);
    }
  }
  assert.deepEqual(missing, []);
});

for (const [name, stored] of cases) {
  test(`matches PyTorch (forward and gradients): ${name}`, async () => {
    const f = OURS[name];
    assert.ok(f !== undefined, `no expression for ${name}`);
    await checkOpGolden(name, stored, f);
  });
}
