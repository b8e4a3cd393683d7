import { shapeError } from '../errors.js';
import { numel } from '../tensor/host-array.js';
import type { Node } from '../tensor/node.js';
import { broadcastShapes, fmtShape, sameShape, stridesOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { unbroadcast } from './grad-util.js';
import type { LowerCtx, Primitive, RefValue } from './primitive.js';
import { broadcastMap, multiIndices, offsetOf } from './ref-util.js';

/** Data movement: reshape, transpose, slice, pad, concat, expand. */

const INT64_MAX_SAFE = 2 ** 62;

/**
 * Reshape target for ONNX. With symbolic dims, dims equal to the input's dim at the same position
 * in the leading run are copied (0) and the first other dim is inferred (-1), so a graph traced at
 * one batch/length still reshapes correctly at another.
 */
function reshapeTarget(ctx: LowerCtx, inShape: readonly number[], out: readonly number[]): string {
  if (!ctx.symbolic) return ctx.constI64(out);
  const t = [...out];
  let i = 0;
  while (i < t.length && i < inShape.length && out[i] === inShape[i]) t[i++] = 0;
  if (i < t.length) t[i] = -1;
  return ctx.constI64(t);
}

/** True when two shapes differ only by inserted or removed size-1 dims. */
function onlyUnitDimsChange(a: readonly number[], b: readonly number[]): boolean {
  const na = a.filter((d) => d !== 1);
  const nb = b.filter((d) => d !== 1);
  return na.length === nb.length && na.every((d, i) => d === nb[i]);
}

export const RESHAPE: Primitive<'reshape'> = {
  infer: ([x], a) => {
    const n = x as Node;
    if (a.shape.some((d) => !Number.isInteger(d) || d < 0) || numel(a.shape) !== numel(n.shape)) {
      throw shapeError('reshape', `cannot reshape ${fmtShape(n.shape)} (${numel(n.shape)} elements) to ${fmtShape(a.shape)}`);
    }
    return { shape: [...a.shape], dtype: n.dtype };
  },
  lower: (ctx, node, [x], a) => {
    const inShape = (node.inputs[0] as Node).shape;
    if (sameShape(inShape, a.shape)) return ctx.emit('Identity', [x as string]);
    if (ctx.symbolic && onlyUnitDimsChange(inShape, a.shape)) {
      // Squeeze/Unsqueeze keep every other dim symbolic (e.g. (B, T) -> (B, 1, 1, T)).
      const sq = inShape.flatMap((d, i) => (d === 1 ? [i] : []));
      const v = sq.length > 0 ? ctx.emit('Squeeze', [x as string, ctx.constI64(sq)]) : (x as string);
      const un = a.shape.flatMap((d, i) => (d === 1 ? [i] : []));
      return un.length > 0 ? ctx.emit('Unsqueeze', [v, ctx.constI64(un)]) : ctx.emit('Identity', [v]);
    }
    return ctx.emit('Reshape', [x as string, reshapeTarget(ctx, inShape, a.shape)]);
  },
  ref: ([x]) => Float64Array.from((x as RefValue).data),
  vjp: (g, [x]) => [g.reshape((x as Tensor).shape)],
};

export const TRANSPOSE: Primitive<'transpose'> = {
  infer: ([x], a) => {
    const n = x as Node;
    const sorted = [...a.perm].sort((p, q) => p - q);
    if (a.perm.length !== n.shape.length || sorted.some((v, i) => v !== i)) {
      throw shapeError('transpose', `perm [${a.perm.join(', ')}] is not a permutation of the ${n.shape.length} dims of ${fmtShape(n.shape)}`);
    }
    return { shape: a.perm.map((p) => n.shape[p] as number), dtype: n.dtype };
  },
  lower: (ctx, _n, [x], a) => ctx.emit('Transpose', [x as string], { perm: { ints: a.perm } }),
  ref: ([x], a, out) => {
    const v = x as RefValue;
    const inStr = stridesOf(v.shape);
    const res = new Float64Array(numel(out.shape));
    let f = 0;
    for (const idx of multiIndices(out.shape)) {
      let o = 0;
      for (let d = 0; d < idx.length; d++) o += (idx[d] as number) * (inStr[a.perm[d] as number] as number);
      res[f++] = v.data[o] as number;
    }
    return res;
  },
  vjp: (g, _x, _o, a) => {
    const inv = new Array<number>(a.perm.length);
    a.perm.forEach((p, i) => (inv[p] = i));
    const m = g.node;
    // The gradient of a transposed weight (x·Wᵀ) arrives as a matrix product P = A·B, and
    // Pᵀ = Bᵀ·Aᵀ is the same GEMM without the transpose of P: a transposed A becomes plain, and B
    // becomes the transposed operand (which ORT folds into the GEMM, where MLAS copies it
    // transposed). Taken when that moves fewer elements and B is no larger than P: a weight over a
    // small batch. With many rows (ESM training) B is the large activation gradient and the
    // original form is kept.
    if (a.perm.length === 2 && m.op === 'matmul' && m.inputs.every((i) => i.shape.length === 2)) {
      const [pa, pb] = m.inputs as [Node, Node];
      const moved = (n: Node, transposedNow: boolean): number => ((n.op === 'transpose') === transposedNow ? numel(n.shape) : 0);
      const before = moved(pa, true) + moved(pb, true) + numel(m.shape);
      const after = moved(pb, false) + moved(pa, false);
      if (after < before && numel(pb.shape) <= numel(m.shape)) {
        return [new Tensor(pb).mT.matmul(new Tensor(pa).mT)];
      }
    }
    return [g.transpose(inv)];
  },
};

export const SLICE: Primitive<'slice'> = {
  infer: ([x], a) => {
    const n = x as Node;
    const shape = [...n.shape];
    a.axes.forEach((ax, i) => {
      const s = a.starts[i] as number;
      const e = a.ends[i] as number;
      const d = shape[ax];
      if (d === undefined || s < 0 || e > d || s > e) {
        throw shapeError('slice', `range [${s}, ${e}) on axis ${ax} is invalid for ${fmtShape(n.shape)}`);
      }
      shape[ax] = e - s;
    });
    return { shape, dtype: n.dtype };
  },
  lower: (ctx, node, [x], a) => {
    const inShape = (node.inputs[0] as Node).shape;
    const ends = a.ends.map((e, i) => (ctx.symbolic && e === inShape[a.axes[i] as number] ? INT64_MAX_SAFE : e));
    return ctx.emit('Slice', [x as string, ctx.constI64(a.starts), ctx.constI64(ends), ctx.constI64(a.axes)]);
  },
  ref: ([x], a, out) => {
    const v = x as RefValue;
    const inStr = stridesOf(v.shape);
    const start = v.shape.map(() => 0);
    a.axes.forEach((ax, i) => (start[ax] = a.starts[i] as number));
    const res = new Float64Array(numel(out.shape));
    let f = 0;
    for (const idx of multiIndices(out.shape)) res[f++] = v.data[offsetOf(idx.map((q, d) => q + (start[d] as number)), inStr)] as number;
    return res;
  },
  vjp: (g, [x], _o, a) => {
    const shape = (x as Tensor).shape;
    const before = shape.map(() => 0);
    const after = shape.map(() => 0);
    a.axes.forEach((ax, i) => {
      before[ax] = a.starts[i] as number;
      after[ax] = (shape[ax] as number) - (a.ends[i] as number);
    });
    return [g.pad(before, after)];
  },
};

export const SLICE_TO: Primitive<'sliceTo'> = {
  infer: ([x, ref], a) => {
    const n = x as Node;
    const r = ref as Node;
    const len = r.shape[a.refAxis];
    const d = n.shape[a.axis];
    if (len === undefined || d === undefined || len > d) {
      throw shapeError('sliceTo', `cannot take ${len ?? '?'} entries of axis ${a.axis} of ${fmtShape(n.shape)} (reference ${fmtShape(r.shape)} axis ${a.refAxis})`);
    }
    const shape = [...n.shape];
    shape[a.axis] = len;
    return { shape, dtype: n.dtype };
  },
  lower: (ctx, node, [x, ref], a) => {
    const len = (node.inputs[1] as Node).shape[a.refAxis] as number;
    const end = ctx.symbolic
      ? ctx.emit('Shape', [ref as string], { start: { int: a.refAxis }, end: { int: a.refAxis + 1 } })
      : ctx.constI64([len]);
    return ctx.emit('Slice', [x as string, ctx.constI64([0]), end, ctx.constI64([a.axis])]);
  },
  ref: ([x], a, out) => SLICE.ref([x as RefValue], { axes: [a.axis], starts: [0], ends: [out.shape[a.axis] as number] }, out),
  vjp: (g, [x], _o, a) => {
    const shape = (x as Tensor).shape;
    const after = shape.map((d, i) => (i === a.axis ? d - (g.shape[i] as number) : 0));
    return [g.pad(shape.map(() => 0), after), null];
  },
};

export const PAD: Primitive<'pad'> = {
  infer: ([x], a) => {
    const n = x as Node;
    if (a.before.length !== n.shape.length || a.after.length !== n.shape.length || [...a.before, ...a.after].some((p) => p < 0 || !Number.isInteger(p))) {
      throw shapeError('pad', `pads [${a.before.join(', ')}] / [${a.after.join(', ')}] do not fit ${fmtShape(n.shape)}`);
    }
    return { shape: n.shape.map((d, i) => d + (a.before[i] as number) + (a.after[i] as number)), dtype: n.dtype };
  },
  lower: (ctx, _n, [x], a) => ctx.emit('Pad', [x as string, ctx.constI64([...a.before, ...a.after])], { mode: { string: 'constant' } }),
  ref: ([x], a, out) => {
    const v = x as RefValue;
    const outStr = stridesOf(out.shape);
    const res = new Float64Array(numel(out.shape));
    let f = 0;
    for (const idx of multiIndices(v.shape)) res[offsetOf(idx.map((q, d) => q + (a.before[d] as number)), outStr)] = v.data[f++] as number;
    return res;
  },
  vjp: (g, [x], _o, a) => {
    const shape = (x as Tensor).shape;
    const axes = shape.map((_, i) => i);
    return [Tensor.op('slice', [g], { axes, starts: [...a.before], ends: shape.map((d, i) => (a.before[i] as number) + d) })];
  },
};

export const CONCAT: Primitive<'concat'> = {
  infer: (inputs, a) => {
    const first = inputs[0] as Node;
    let total = 0;
    for (const n of inputs) {
      const ok = n.dtype === first.dtype && n.shape.length === first.shape.length && n.shape.every((d, i) => i === a.axis || d === first.shape[i]);
      if (!ok) throw shapeError('concat', `cannot concatenate ${inputs.map((m) => `${fmtShape(m.shape)}:${m.dtype}`).join(', ')} on axis ${a.axis}`);
      total += n.shape[a.axis] as number;
    }
    const shape = [...first.shape];
    shape[a.axis] = total;
    return { shape, dtype: first.dtype };
  },
  lower: (ctx, _n, xs, a) => ctx.emit('Concat', xs, { axis: { int: a.axis } }),
  ref: (xs, a, out) => {
    const res = new Float64Array(numel(out.shape));
    const outStr = stridesOf(out.shape);
    let base = 0;
    for (const v of xs) {
      let f = 0;
      for (const idx of multiIndices(v.shape)) {
        const o = idx.map((q, d) => (d === a.axis ? q + base : q));
        res[offsetOf(o, outStr)] = v.data[f++] as number;
      }
      base += v.shape[a.axis] as number;
    }
    return res;
  },
  vjp: (g, xs, _o, a) => {
    let base = 0;
    return xs.map((x) => {
      const len = x.shape[a.axis] as number;
      const piece = g.slice(a.axis, base, base + len);
      base += len;
      return piece;
    });
  },
};

export const EXPAND: Primitive<'expand'> = {
  infer: ([x], a) => {
    const n = x as Node;
    const out = broadcastShapes('expand', n.shape, a.shape);
    if (!sameShape(out, a.shape)) throw shapeError('expand', `cannot expand ${fmtShape(n.shape)} to ${fmtShape(a.shape)}`);
    return { shape: out, dtype: n.dtype };
  },
  lower: (ctx, node, [x], a) => {
    // Bidirectional broadcasting lets dims that already match be written as 1 (shape-agnostic).
    const inShape = (node.inputs[0] as Node).shape;
    const lead = a.shape.length - inShape.length;
    const target = ctx.symbolic ? a.shape.map((d, i) => (i >= lead && inShape[i - lead] === d ? 1 : d)) : a.shape;
    return ctx.emit('Expand', [x as string, ctx.constI64(target)]);
  },
  ref: ([x], _a, out) => {
    const v = x as RefValue;
    const map = broadcastMap(v.shape, out.shape);
    return Float64Array.from(map, (i) => v.data[i] as number);
  },
  vjp: (g, [x]) => [unbroadcast(g, (x as Tensor).shape)],
};
