import { dtypeError } from '../errors.js';
import { numel } from '../tensor/host-array.js';
import type { Node } from '../tensor/node.js';
import { reducedShape, stridesOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { expandReduced } from './grad-util.js';
import type { OpAttrs, ReduceKind } from './kinds.js';
import type { Primitive, RefValue } from './primitive.js';
import { multiIndices, offsetOf } from './ref-util.js';

/** Reductions over sorted, normalised axes, with or without kept dims. */

type ReduceAttrs = OpAttrs['sum'];

function infer(op: ReduceKind) {
  return ([x]: readonly Node[], a: ReduceAttrs) => {
    const n = x as Node;
    if (n.dtype === 'bool') throw dtypeError(op, 'cannot reduce a bool tensor; cast it first');
    if (op === 'mean' && n.dtype !== 'float32') throw dtypeError(op, `mean needs float32, got ${n.dtype}`);
    return { shape: reducedShape(n.shape, a.axes, a.keepdims), dtype: n.dtype };
  };
}

function refReduce(x: RefValue, axes: readonly number[], init: number, step: (acc: number, v: number) => number): Float64Array {
  const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Float64Array(numel(outShape)).fill(init);
  const outStr = stridesOf(outShape);
  let f = 0;
  for (const idx of multiIndices(x.shape)) {
    const o = offsetOf(idx.map((v, i) => (axes.includes(i) ? 0 : v)), outStr);
    out[o] = step(out[o] as number, x.data[f++] as number);
  }
  return out;
}

function lowerReduce(onnx: string) {
  return (ctx: Parameters<Primitive<'sum'>['lower']>[0], _n: Node, [x]: readonly string[], a: ReduceAttrs): string =>
    ctx.emit(onnx, [x as string, ctx.constI64(a.axes)], { keepdims: { int: a.keepdims ? 1 : 0 } });
}

const count = (shape: readonly number[], axes: readonly number[]): number => axes.reduce((p, a) => p * (shape[a] ?? 1), 1);

export const REDUCE: { readonly [K in ReduceKind]: Primitive<K> } = {
  sum: {
    infer: infer('sum'),
    lower: lowerReduce('ReduceSum'),
    ref: ([x], a) => refReduce(x as RefValue, a.axes, 0, (s, v) => s + v),
    vjp: (g, [x], _o, a) => [expandReduced(g, (x as Tensor).shape, a.axes)],
  },
  mean: {
    infer: infer('mean'),
    lower: lowerReduce('ReduceMean'),
    ref: ([x], a) => {
      const n = count((x as RefValue).shape, a.axes);
      return refReduce(x as RefValue, a.axes, 0, (s, v) => s + v).map((v) => v / n);
    },
    vjp: (g, [x], _o, a) => [expandReduced(g.div(count((x as Tensor).shape, a.axes)), (x as Tensor).shape, a.axes)],
  },
  max: {
    infer: infer('max'),
    lower: lowerReduce('ReduceMax'),
    ref: ([x], a) => refReduce(x as RefValue, a.axes, -Infinity, Math.max),
    vjp: (g, [x], out, a) => {
      // The gradient is shared evenly among tied maxima, as PyTorch's amax does.
      const t = x as Tensor;
      const mask = t.equal(expandReduced(out, t.shape, a.axes)).cast('float32');
      const ties = mask.sum(a.axes, true);
      return [expandReduced(g, t.shape, a.axes).mul(mask).div(ties)];
    },
  },
};
