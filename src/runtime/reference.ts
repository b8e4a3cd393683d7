import { runtimeError } from '../errors.js';
import type { OpAttrs, OpKind } from '../ops/kinds.js';
import type { Primitive, RefValue } from '../ops/primitive.js';
import { primitiveTable } from '../ops/primitive-table.js';
import type { Node } from '../tensor/node.js';
import { fmtShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { collectGraph } from './graph.js';

/**
 * The float64 reference evaluator: runs the same graph IR in plain TypeScript, op by op, using
 * each primitive's `ref` kernel. Used by the conformance suite and finite-difference checks.
 * `feeds` overrides the data of input nodes (e.g. perturbed copies in float64).
 */
export function evaluateReference(outputs: readonly Tensor[], feeds: ReadonlyMap<Node, Float64Array> = new Map()): Float64Array[] {
  const g = collectGraph(outputs.map((t) => t.node));
  const values = new Map<Node, RefValue>();
  for (const n of g.inputs) {
    const f = feeds.get(n);
    if (f !== undefined) values.set(n, { shape: n.shape, data: f });
    else if (n.realized !== null) values.set(n, { shape: n.shape, data: Float64Array.from(n.realized as ArrayLike<number | bigint>, Number) });
    else throw runtimeError(`reference evaluator: placeholder ${n.dtype} ${fmtShape(n.shape)} has no data`);
  }
  for (const n of g.ops) {
    const ins = n.inputs.map((i) => values.get(i) as RefValue);
    const prim = primitiveTable()[n.op] as unknown as Primitive<OpKind>;
    const data = prim.ref(ins, n.attrs as OpAttrs[OpKind], { shape: [...n.shape], dtype: n.dtype });
    values.set(n, { shape: n.shape, data });
  }
  return g.outputs.map((o) => (values.get(o) as RefValue).data);
}
