import { dtypeError, shapeError } from '../errors.js';
import { numel } from '../tensor/host-array.js';
import type { Node } from '../tensor/node.js';
import { fmtShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { Primitive, RefValue } from './primitive.js';

/** Integer indexing: gather along an axis and its adjoint, scatter-add along axis 0. */

const isIndex = (n: Node): boolean => n.dtype === 'int32' || n.dtype === 'int64';

function refIndex(op: string, v: number, n: number): number {
  const i = v < 0 ? v + n : v;
  if (i < 0 || i >= n) throw shapeError(op, `index ${v} is out of range for a dim of size ${n}`);
  return i;
}

export const GATHER: Primitive<'gather'> = {
  infer: ([x, idx], a) => {
    const xs = x as Node;
    const is = idx as Node;
    if (!isIndex(is)) throw dtypeError('gather', `indices must be int32 or int64, got ${is.dtype}`);
    return { shape: [...xs.shape.slice(0, a.axis), ...is.shape, ...xs.shape.slice(a.axis + 1)], dtype: xs.dtype };
  },
  lower: (ctx, _n, [x, i], a) => ctx.emit('Gather', [x as string, i as string], { axis: { int: a.axis } }),
  ref: ([x, idx], a) => {
    const v = x as RefValue;
    const ind = idx as RefValue;
    const pre = numel(v.shape.slice(0, a.axis));
    const n = v.shape[a.axis] as number;
    const post = numel(v.shape.slice(a.axis + 1));
    const ni = ind.data.length;
    const out = new Float64Array(pre * ni * post);
    for (let p = 0; p < pre; p++) {
      for (let k = 0; k < ni; k++) {
        const r = refIndex('gather', ind.data[k] as number, n);
        for (let q = 0; q < post; q++) out[(p * ni + k) * post + q] = v.data[(p * n + r) * post + q] as number;
      }
    }
    return out;
  },
  vjp: (g, [x, idx], _o, a) => {
    const xt = x as Tensor;
    const it = idx as Tensor;
    const ir = it.rank;
    if (a.axis === 0) return [Tensor.op('scatterAdd', [Tensor.full(xt.shape, 0), it, g], {}), null];
    // Move the index dims to the front, scatter into (N, pre..., post...), then move N back.
    const r = g.rank;
    const perm = [...Array.from({ length: ir }, (_, i) => a.axis + i), ...Array.from({ length: a.axis }, (_, i) => i), ...Array.from({ length: r - a.axis - ir }, (_, i) => a.axis + ir + i)];
    const gp = g.transpose(perm); // (I..., pre..., post...)
    const base = [xt.shape[a.axis] as number, ...xt.shape.slice(0, a.axis), ...xt.shape.slice(a.axis + 1)];
    const s = Tensor.op('scatterAdd', [Tensor.full(base, 0), it, gp], {}); // (N, pre..., post...)
    const back = [...Array.from({ length: a.axis }, (_, i) => i + 1), 0, ...Array.from({ length: xt.rank - a.axis - 1 }, (_, i) => a.axis + 1 + i)];
    return [s.transpose(back), null];
  },
};

export const SCATTER_ADD: Primitive<'scatterAdd'> = {
  infer: ([base, idx, upd]) => {
    const b = base as Node;
    const i = idx as Node;
    const u = upd as Node;
    if (!isIndex(i)) throw dtypeError('scatterAdd', `indices must be int32 or int64, got ${i.dtype}`);
    if (b.dtype !== u.dtype) throw dtypeError('scatterAdd', `base is ${b.dtype} but updates are ${u.dtype}`);
    const want = [...i.shape, ...b.shape.slice(1)];
    if (want.length !== u.shape.length || want.some((d, k) => d !== u.shape[k])) {
      throw shapeError('scatterAdd', `updates ${fmtShape(u.shape)} must be indices ${fmtShape(i.shape)} + base rows ${fmtShape(b.shape.slice(1))}`);
    }
    return { shape: [...b.shape], dtype: b.dtype };
  },
  lower: (ctx, node, [base, idx, upd]) => {
    const i64 = (node.inputs[1] as Node).dtype === 'int64' ? (idx as string) : ctx.emit('Cast', [idx as string], { to: { int: 7 } });
    const nd = ctx.emit('Unsqueeze', [i64, ctx.constI64([-1])]);
    return ctx.emit('ScatterND', [base as string, nd, upd as string], { reduction: { string: 'add' } });
  },
  ref: ([base, idx, upd]) => {
    const b = base as RefValue;
    const out = Float64Array.from(b.data);
    const n = b.shape[0] as number;
    const row = numel(b.shape.slice(1));
    const ind = (idx as RefValue).data;
    const u = (upd as RefValue).data;
    for (let k = 0; k < ind.length; k++) {
      const r = refIndex('scatterAdd', ind[k] as number, n);
      for (let q = 0; q < row; q++) out[r * row + q] = (out[r * row + q] as number) + (u[k * row + q] as number);
    }
    return out;
  },
  vjp: (g, [, idx]) => [g, null, g.gather(idx as Tensor, 0)],
};
