import { runtimeError } from '../errors.js';
import { numel } from '../tensor/host-array.js';
import type { Primitive } from './primitive.js';

/** Leaves: graph inputs (host data or per-run placeholders) and embedded constants. */

export const INPUT: Primitive<'input'> = {
  infer: () => {
    throw runtimeError('input nodes are made by Tensor.from / Tensor.placeholder, not by Tensor.op');
  },
  lower: () => {
    throw runtimeError('input nodes are lowered as graph inputs');
  },
  ref: () => {
    throw runtimeError('input nodes are read from their data by the evaluator');
  },
  vjp: () => [],
};

export const CONST: Primitive<'const'> = {
  infer: () => {
    throw runtimeError('const nodes are made by Tensor.constant, not by Tensor.op');
  },
  lower: (ctx, node, _i, a) => {
    const n = numel(node.shape);
    if (a.values.length === n) return ctx.constant(node.dtype, a.values, node.shape);
    // A fill: one scalar broadcast to the shape.
    return ctx.emit('Expand', [ctx.constant(node.dtype, a.values, []), ctx.constI64(node.shape)]);
  },
  ref: (_i, a, out) => {
    const n = numel(out.shape);
    return a.values.length === n ? Float64Array.from(a.values) : new Float64Array(n).fill(a.values[0] ?? 0);
  },
  vjp: () => [],
};
