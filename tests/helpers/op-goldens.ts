import assert from 'node:assert/strict';
import { grad } from '../../src/autograd/grad.js';
import { realize } from '../../src/runtime/realize.js';
import { evaluateReference } from '../../src/runtime/reference.js';
import type { OpKind } from '../../src/ops/kinds.js';
import type { Node } from '../../src/tensor/node.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { loadGolden } from './golden.js';
import { assertClose, flat } from './numeric.js';

/**
 * Op cases against PyTorch goldens written by scripts/golden/make_op_goldens.py: each case of a
 * fixture is a PyTorch expression over named inputs with its output and the gradients of
 * sum(out · w); the test side builds the same expression with our ops (`OpGolden.f`).
 */

/** Our side of one golden case: the expression over the inputs, keyed by the fixture's names. */
export type OpGoldenFn = (x: Readonly<Record<string, Tensor>>) => Tensor;

/** One case as stored in the fixture. */
interface StoredCase {
  readonly inputs: Record<string, unknown>;
  readonly dtypes: Record<string, 'float32' | 'int64'>;
  readonly out: unknown;
  readonly w: unknown;
  readonly grads: Record<string, unknown>;
}

/** float32 engine vs float64 PyTorch: a few float32 roundings through a handful of ops. */
const TOL = { atol: 2e-5, rtol: 2e-5 };

/** The cases of an op golden fixture, by name. */
export function opGoldenCases(fixture: string): ReadonlyMap<string, StoredCase> {
  const cases = loadGolden(fixture).cases as Record<string, StoredCase> | undefined;
  if (cases === undefined) throw new Error(`golden ${fixture} has no cases`);
  return new Map(Object.entries(cases));
}

/** Shape of a nested-list value (a number is a 0-d tensor). */
function shapeOf(v: unknown): number[] {
  const shape: number[] = [];
  let cur = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

/** The case's graph: inputs (float ones with a stored gradient require it), output, gradients. */
export function buildCase(stored: StoredCase, f: OpGoldenFn): { inputs: Record<string, Tensor>; out: Tensor; grads: Map<string, Tensor>; loss: Tensor } {
  const inputs: Record<string, Tensor> = {};
  for (const [name, v] of Object.entries(stored.inputs)) {
    const dtype = stored.dtypes[name] ?? 'float32';
    inputs[name] = Tensor.from(flat(v), shapeOf(v), dtype, dtype === 'float32' && name in stored.grads);
  }
  const out = f(inputs);
  assert.deepEqual(out.shape, shapeOf(stored.out), 'output shape');
  const loss = out.mul(Tensor.from(flat(stored.w), shapeOf(stored.w))).sum();
  const wrt = Object.keys(stored.grads);
  // Where no gradient flows, grad() gives zeros, as the fixture stores them.
  const gs = grad(loss, wrt.map((k) => inputs[k] as Tensor));
  const grads = new Map(wrt.map((k, i) => [k, gs[i] as Tensor]));
  return { inputs, out, grads, loss };
}

/** Checks one case on ONNX Runtime (float32) and on the float64 reference evaluator. */
export async function checkOpGolden(name: string, stored: StoredCase, f: OpGoldenFn): Promise<void> {
  const { out, grads } = buildCase(stored, f);
  const names = [...grads.keys()];
  const tensors = [out, ...names.map((k) => grads.get(k) as Tensor)];
  const ref = evaluateReference(tensors);
  await realize(...tensors);
  const expected = [stored.out, ...names.map((k) => stored.grads[k])];
  const labels = ['out', ...names.map((k) => `d${k}`)];
  for (let i = 0; i < tensors.length; i++) {
    const want = flat(expected[i]);
    const t = tensors[i] as Tensor;
    assertClose(Array.from((await t.toArray()) as Float32Array, Number), want, TOL, `${name}: ORT ${labels[i]}`);
    assertClose(ref[i] as Float64Array, want, TOL, `${name}: reference ${labels[i]}`);
  }
}

/** Every op kind in the graph of `t` (walking inputs), with whether that node carries a gradient. */
export function opKindsIn(t: Tensor): { all: Set<OpKind>; withGrad: Set<OpKind> } {
  const all = new Set<OpKind>();
  const withGrad = new Set<OpKind>();
  const seen = new Set<Node>();
  const stack: Node[] = [t.node];
  while (stack.length > 0) {
    const n = stack.pop() as Node;
    if (seen.has(n)) continue;
    seen.add(n);
    all.add(n.op);
    if (n.requiresGrad) withGrad.add(n.op);
    stack.push(...n.inputs);
  }
  return { all, withGrad };
}
