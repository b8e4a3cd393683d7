import { dtypeError } from '../errors.js';
import type { DType } from '../tensor/host-array.js';
import type { Node } from '../tensor/node.js';
import { broadcastShapes } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { unbroadcast } from './grad-util.js';
import type { BinaryKind, CompareKind, OpAttrs, UnaryKind } from './kinds.js';
import { ONNX_DTYPE, type Inferred, type Primitive } from './primitive.js';
import { coerce, erf64, refMap } from './ref-util.js';

/** Elementwise primitives: binary arithmetic, comparisons, unary math, where and cast. */

function sameDtype(op: string, nodes: readonly Node[], allowed: readonly DType[]): DType {
  const d = nodes[0]?.dtype ?? 'float32';
  for (const n of nodes) {
    if (n.dtype !== d) throw dtypeError(op, `operands have dtypes ${nodes.map((x) => x.dtype).join(' and ')}; cast one first`);
  }
  if (!allowed.includes(d)) throw dtypeError(op, `dtype ${d} is not supported (allowed: ${allowed.join(', ')})`);
  return d;
}

const NUMERIC: readonly DType[] = ['float32', 'int32', 'int64'];
const FLOAT: readonly DType[] = ['float32'];

function inferBinary(op: string, allowed: readonly DType[], outDtype?: DType) {
  return (inputs: readonly Node[]): Inferred => {
    const [a, b] = inputs as [Node, Node];
    const d = sameDtype(op, inputs, allowed);
    return { shape: broadcastShapes(op, a.shape, b.shape), dtype: outDtype ?? d };
  };
}

type BinaryVjp = (g: Tensor, a: Tensor, b: Tensor, out: Tensor) => readonly [Tensor | null, Tensor | null];

function binary<K extends BinaryKind>(op: K, onnx: string, f: (a: number, b: number) => number, vjp: BinaryVjp, allowed = NUMERIC): Primitive<K> {
  return {
    infer: inferBinary(op, allowed),
    lower: (ctx, _n, [a, b]) => ctx.emit(onnx, [a as string, b as string]),
    ref: (inputs, _attrs, out) => refMap(inputs, out.shape, (x, y) => coerce(out.dtype, f(x, y))),
    vjp: (g, [a, b], out) => {
      const [ga, gb] = vjp(g, a as Tensor, b as Tensor, out);
      return [ga && unbroadcast(ga, (a as Tensor).shape), gb && unbroadcast(gb, (b as Tensor).shape)];
    },
  };
}

/** Mask splitting ties evenly, as PyTorch's maximum/minimum gradients do. */
const winMask = (x: Tensor, y: Tensor, op: 'greater' | 'less'): Tensor =>
  (op === 'greater' ? x.greater(y) : x.less(y)).cast('float32').add(x.equal(y).cast('float32').mul(0.5));

export const BINARY: { readonly [K in BinaryKind]: Primitive<K> } = {
  add: binary('add', 'Add', (a, b) => a + b, (g) => [g, g]),
  sub: binary('sub', 'Sub', (a, b) => a - b, (g) => [g, g.neg()]),
  mul: binary('mul', 'Mul', (a, b) => a * b, (g, a, b) => [g.mul(b), g.mul(a)]),
  div: binary('div', 'Div', (a, b) => a / b, (g, _a, b, out) => [g.div(b), g.mul(out).div(b).neg()]),
  pow: binary('pow', 'Pow', (a, b) => Math.pow(a, b), (g, a, b, out) => [
    g.mul(b).mul(a.pow(b.sub(1))),
    b.requiresGrad ? g.mul(out).mul(a.log()) : null,
  ], FLOAT),
  maximum: binary('maximum', 'Max', Math.max, (g, a, b) => [g.mul(winMask(a, b, 'greater')), g.mul(winMask(b, a, 'greater'))]),
  minimum: binary('minimum', 'Min', Math.min, (g, a, b) => [g.mul(winMask(a, b, 'less')), g.mul(winMask(b, a, 'less'))]),
};

function compare<K extends CompareKind>(op: K, onnx: string, f: (a: number, b: number) => boolean, allowed = NUMERIC): Primitive<K> {
  return {
    infer: inferBinary(op, allowed, 'bool'),
    lower: (ctx, _n, [a, b]) => ctx.emit(onnx, [a as string, b as string]),
    ref: (inputs, _attrs, out) => refMap(inputs, out.shape, (x, y) => (f(x, y) ? 1 : 0)),
    vjp: () => [null, null],
  };
}

export const COMPARE: { readonly [K in CompareKind]: Primitive<K> } = {
  less: compare('less', 'Less', (a, b) => a < b),
  greater: compare('greater', 'Greater', (a, b) => a > b),
  equal: compare('equal', 'Equal', (a, b) => a === b, ['float32', 'int32', 'int64', 'bool']),
  lessEqual: compare('lessEqual', 'LessOrEqual', (a, b) => a <= b),
  greaterEqual: compare('greaterEqual', 'GreaterOrEqual', (a, b) => a >= b),
  and: compare('and', 'And', (a, b) => a !== 0 && b !== 0, ['bool']),
  or: compare('or', 'Or', (a, b) => a !== 0 || b !== 0, ['bool']),
};

type UnaryVjp = (g: Tensor, x: Tensor, y: Tensor) => Tensor | null;

function unary<K extends UnaryKind>(op: K, onnx: string | readonly string[], f: (x: number) => number, vjp: UnaryVjp, allowed = FLOAT): Primitive<K> {
  const chain = typeof onnx === 'string' ? [onnx] : onnx;
  return {
    infer: ([x]) => ({ shape: [...(x as Node).shape], dtype: sameDtype(op, [x as Node], allowed) }),
    lower: (ctx, _n, [x]) => chain.reduce((v, t) => ctx.emit(t, [v]), x as string),
    ref: ([x], _attrs, out) => Float64Array.from((x as { data: Float64Array }).data, (v) => coerce(out.dtype, f(v))),
    vjp: (g, [x], y) => [vjp(g, x as Tensor, y)],
  };
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

export const UNARY: { readonly [K in UnaryKind]: Primitive<K> } = {
  neg: unary('neg', 'Neg', (x) => -x, (g) => g.neg(), NUMERIC),
  exp: unary('exp', 'Exp', Math.exp, (g, _x, y) => g.mul(y)),
  log: unary('log', 'Log', Math.log, (g, x) => g.div(x)),
  sqrt: unary('sqrt', 'Sqrt', Math.sqrt, (g, _x, y) => g.mul(0.5).div(y)),
  rsqrt: unary('rsqrt', ['Sqrt', 'Reciprocal'], (x) => 1 / Math.sqrt(x), (g, _x, y) => g.mul(y.mul(y).mul(y)).mul(-0.5)),
  reciprocal: unary('reciprocal', 'Reciprocal', (x) => 1 / x, (g, _x, y) => g.mul(y.mul(y)).neg()),
  tanh: unary('tanh', 'Tanh', Math.tanh, (g, _x, y) => g.mul(y.mul(y).rsub(1))),
  erf: unary('erf', 'Erf', erf64, (g, x) => g.mul(x.mul(x).neg().exp().mul(TWO_OVER_SQRT_PI))),
  abs: unary('abs', 'Abs', Math.abs, (g, x) => g.mul(x.sign()), NUMERIC),
  sign: unary('sign', 'Sign', (x) => (x > 0 ? 1 : x < 0 ? -1 : 0), () => null, NUMERIC),
  sigmoid: unary('sigmoid', 'Sigmoid', (x) => 1 / (1 + Math.exp(-x)), (g, _x, y) => g.mul(y).mul(y.rsub(1))),
  not: unary('not', 'Not', (x) => (x !== 0 ? 0 : 1), () => null, ['bool']),
};

export const WHERE: Primitive<'where'> = {
  infer: (inputs) => {
    const [c, a, b] = inputs as [Node, Node, Node];
    if (c.dtype !== 'bool') throw dtypeError('where', `condition must be bool, got ${c.dtype}`);
    const d = sameDtype('where', [a, b], ['float32', 'int32', 'int64', 'bool']);
    return { shape: broadcastShapes('where', broadcastShapes('where', c.shape, a.shape), b.shape), dtype: d };
  },
  lower: (ctx, _n, [c, a, b]) => ctx.emit('Where', [c as string, a as string, b as string]),
  ref: (inputs, _attrs, out) => refMap(inputs, out.shape, (c, a, b) => (c !== 0 ? a : b)),
  vjp: (g, [c, a, b]) => {
    const zero = Tensor.constant([0], [], 'float32');
    const cond = c as Tensor;
    return [null, unbroadcast(cond.where(g, zero), (a as Tensor).shape), unbroadcast(cond.where(zero, g), (b as Tensor).shape)];
  },
};

export const CAST: Primitive<'cast'> = {
  infer: ([x], attrs: OpAttrs['cast']) => ({ shape: [...(x as Node).shape], dtype: attrs.to }),
  lower: (ctx, _n, [x], attrs) => ctx.emit('Cast', [x as string], { to: { int: ONNX_DTYPE[attrs.to] } }),
  ref: ([x], attrs) => Float64Array.from((x as { data: Float64Array }).data, (v) => coerce(attrs.to, v)),
  vjp: (g, [x]) => [(x as Tensor).dtype === 'float32' && g.dtype === 'float32' ? g : null],
};
