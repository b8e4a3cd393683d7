import { dtypeError, shapeError } from '../errors.js';
import type { OpAttrs, OpKind } from '../ops/kinds.js';
import { primitiveTable } from '../ops/primitive-table.js';
import { gradEnabled } from '../autograd/mode.js';
import { realize } from '../runtime/realize.js';
import { backward } from '../autograd/grad.js';
import { allocData, hostArray, numel, type DataOf, type DType, type HostArray } from './host-array.js';
import { Node } from './node.js';
import type { Rng } from './random.js';
import { fmtShape, normAxes, normAxis } from './shape.js';

/** A number or a tensor: scalars become constants of the other operand's dtype. */
export type TensorLike = Tensor | number;

/**
 * A lazy tensor. Every op is synchronous and only records a graph node; `await t.toArray()` (or
 * `await realize(...)`) compiles the pending graph to ONNX and runs it on ONNX Runtime.
 */
export class Tensor {
  readonly node: Node;

  constructor(node: Node) {
    this.node = node;
  }

  // ---------------------------------------------------------------- construction

  /** A tensor holding host data (float32 by default). */
  static from(data: ArrayLike<number> | DataOf[DType], shape: readonly number[], dtype: DType = 'float32', requiresGrad = false): Tensor {
    let typed: DataOf[DType];
    if (dtype === 'float32') typed = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    else if (dtype === 'int32') typed = data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>);
    else if (dtype === 'int64') typed = data instanceof BigInt64Array ? data : BigInt64Array.from(Array.from(data as ArrayLike<number>, (v) => BigInt(v)));
    else typed = data instanceof Uint8Array ? data : Uint8Array.from(data as ArrayLike<number>);
    const arr = hostArray(dtype, shape, typed);
    const node = new Node('input', [], {}, arr.shape, dtype, requiresGrad);
    node.realized = arr.data;
    return new Tensor(node);
  }

  /** Wraps a host array without copying. */
  static fromHost(arr: HostArray, requiresGrad = false): Tensor {
    const node = new Node('input', [], {}, [...arr.shape], arr.dtype, requiresGrad);
    node.realized = arr.data;
    return new Tensor(node);
  }

  /** A graph input whose data is supplied per run (used by compiled programs). */
  static placeholder(shape: readonly number[], dtype: DType = 'float32', name?: string): Tensor {
    const attrs: OpAttrs['input'] = name === undefined ? {} : { name };
    return new Tensor(new Node('input', [], attrs, [...shape], dtype, false));
  }

  /**
   * A constant embedded in the graph (keep these small: their values are part of the cache key).
   * A single value fills the whole shape.
   */
  static constant(values: ArrayLike<number>, shape: readonly number[] = [], dtype: DType = 'float32'): Tensor {
    if (values.length !== numel(shape) && values.length !== 1) {
      throw shapeError('constant', `${values.length} values for shape ${fmtShape(shape)}`);
    }
    return new Tensor(new Node('const', [], { values: Array.from(values) }, [...shape], dtype, false));
  }

  /** A graph constant filled with one value (no host buffer is allocated). */
  static full(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
    return Tensor.constant([value], shape, dtype);
  }

  /** N(mean, std²) samples from a seeded generator, as host data (a graph input). */
  static randn(shape: readonly number[], rng: Rng, std = 1, mean = 0, requiresGrad = false): Tensor {
    return Tensor.from(rng.normalArray(numel(shape), mean, std), shape, 'float32', requiresGrad);
  }

  /** U(lo, hi) samples from a seeded generator, as host data (a graph input). */
  static rand(shape: readonly number[], rng: Rng, lo = 0, hi = 1, requiresGrad = false): Tensor {
    return Tensor.from(rng.uniformArray(numel(shape), lo, hi), shape, 'float32', requiresGrad);
  }

  /** Zero-filled host tensor. */
  static zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor {
    return Tensor.fromHost({ dtype, shape, data: allocData(dtype, numel(shape)) });
  }

  /** Records a primitive node; shape/dtype inference raises errors that name the op. */
  static op<K extends OpKind>(kind: K, inputs: readonly Tensor[], attrs: OpAttrs[K]): Tensor {
    const nodes = inputs.map((t) => t.node);
    const prim = primitiveTable()[kind];
    const { shape, dtype } = prim.infer(nodes, attrs);
    const rg = dtype === 'float32' && gradEnabled() && nodes.some((n) => n.requiresGrad);
    return new Tensor(new Node(kind, nodes, attrs, shape, dtype, rg));
  }

  // ---------------------------------------------------------------- info

  get shape(): readonly number[] {
    return this.node.shape;
  }
  get dtype(): DType {
    return this.node.dtype;
  }
  get rank(): number {
    return this.node.shape.length;
  }
  get size(): number {
    return numel(this.node.shape);
  }
  get requiresGrad(): boolean {
    return this.node.requiresGrad;
  }
  /** Gradient accumulated by `backward()` (a lazy tensor), or null. */
  get grad(): Tensor | null {
    return this.node.grad;
  }

  /** Replaces this leaf's data in place (same shape and dtype), e.g. after an optimizer step. */
  assign(data: DataOf[DType]): void {
    if (this.node.op !== 'input') throw dtypeError('assign', 'only leaf tensors (parameters, inputs) can be assigned');
    if (data.length !== this.size) throw shapeError('assign', `got ${data.length} values for shape ${fmtShape(this.shape)}`);
    this.node.realized = data;
  }

  /**
   * Accumulates d(this)/d(leaf) into `.grad` of every leaf that requires a gradient (lazily: the
   * gradients are graph nodes until realized). `this` must be a scalar unless `gradOutput` is given.
   */
  backward(gradOutput?: Tensor): void {
    backward(this, gradOutput);
  }

  /** True once data is available on the host without running anything. */
  get isRealized(): boolean {
    return this.node.realized !== null;
  }

  /** Computes the tensor (if pending) and returns its host data. */
  async toArray(): Promise<DataOf[DType]> {
    await realize(this);
    return this.node.realized as DataOf[DType];
  }

  /** Computes the tensor and returns it as a host array. */
  async toHost(): Promise<HostArray> {
    const data = await this.toArray();
    return { dtype: this.dtype, shape: [...this.shape], data };
  }

  /** Computes a one-element tensor and returns it as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) throw shapeError('item', `tensor of shape ${fmtShape(this.shape)} has ${this.size} elements, not 1`);
    const d = await this.toArray();
    return Number(d[0]);
  }

  /** The same values cut off from gradient history (an identity node that stops gradients). */
  detach(): Tensor {
    return new Tensor(new Node('reshape', [this.node], { shape: this.shape }, this.shape, this.dtype, false));
  }

  private lift(x: TensorLike): Tensor {
    return typeof x === 'number' ? Tensor.constant([x], [], this.dtype) : x;
  }

  // ---------------------------------------------------------------- elementwise

  add(o: TensorLike): Tensor { return Tensor.op('add', [this, this.lift(o)], {}); }
  sub(o: TensorLike): Tensor { return Tensor.op('sub', [this, this.lift(o)], {}); }
  mul(o: TensorLike): Tensor { return Tensor.op('mul', [this, this.lift(o)], {}); }
  div(o: TensorLike): Tensor { return Tensor.op('div', [this, this.lift(o)], {}); }
  pow(o: TensorLike): Tensor { return Tensor.op('pow', [this, this.lift(o)], {}); }
  /** Elementwise max, as torch.maximum: at ties each operand gets half the gradient. */
  maximum(o: TensorLike): Tensor { return Tensor.op('maximum', [this, this.lift(o)], {}); }
  /** Elementwise min, as torch.minimum: at ties each operand gets half the gradient. */
  minimum(o: TensorLike): Tensor { return Tensor.op('minimum', [this, this.lift(o)], {}); }
  /**
   * Clamps into [lo, hi] (either bound optional), as torch.clamp with number bounds: the gradient
   * passes where lo ≤ x ≤ hi, bounds included; lo > hi gives hi everywhere.
   */
  clamp(lo?: number, hi?: number): Tensor {
    let y: Tensor = this;
    if (lo !== undefined) y = y.less(lo).where(lo, y);
    if (hi !== undefined) y = y.greater(hi).where(hi, y);
    return y;
  }
  /** `o - this`, for scalars on the left. */
  rsub(o: TensorLike): Tensor { return this.lift(o).sub(this); }
  square(): Tensor { return this.mul(this); }

  neg(): Tensor { return Tensor.op('neg', [this], {}); }
  exp(): Tensor { return Tensor.op('exp', [this], {}); }
  log(): Tensor { return Tensor.op('log', [this], {}); }
  sqrt(): Tensor { return Tensor.op('sqrt', [this], {}); }
  rsqrt(): Tensor { return Tensor.op('rsqrt', [this], {}); }
  reciprocal(): Tensor { return Tensor.op('reciprocal', [this], {}); }
  tanh(): Tensor { return Tensor.op('tanh', [this], {}); }
  erf(): Tensor { return Tensor.op('erf', [this], {}); }
  abs(): Tensor { return Tensor.op('abs', [this], {}); }
  sign(): Tensor { return Tensor.op('sign', [this], {}); }
  sigmoid(): Tensor { return Tensor.op('sigmoid', [this], {}); }

  less(o: TensorLike): Tensor { return Tensor.op('less', [this, this.lift(o)], {}); }
  greater(o: TensorLike): Tensor { return Tensor.op('greater', [this, this.lift(o)], {}); }
  equal(o: TensorLike): Tensor { return Tensor.op('equal', [this, this.lift(o)], {}); }
  lessEqual(o: TensorLike): Tensor { return Tensor.op('lessEqual', [this, this.lift(o)], {}); }
  greaterEqual(o: TensorLike): Tensor { return Tensor.op('greaterEqual', [this, this.lift(o)], {}); }
  logicalAnd(o: Tensor): Tensor { return Tensor.op('and', [this, o], {}); }
  logicalOr(o: Tensor): Tensor { return Tensor.op('or', [this, o], {}); }
  logicalNot(): Tensor { return Tensor.op('not', [this], {}); }

  /** `cond ? a : b` elementwise with broadcasting; `this` is the bool condition. */
  where(a: TensorLike, b: TensorLike): Tensor {
    const ta = typeof a === 'number' ? Tensor.constant([a], [], typeof b === 'number' ? 'float32' : b.dtype) : a;
    const tb = typeof b === 'number' ? Tensor.constant([b], [], ta.dtype) : b;
    return Tensor.op('where', [this, ta, tb], {});
  }

  cast(to: DType): Tensor {
    return to === this.dtype ? this : Tensor.op('cast', [this], { to });
  }

  // ---------------------------------------------------------------- linear algebra

  /** Batched matrix product with broadcasting over leading dims; 1-D operands are promoted. */
  matmul(o: Tensor): Tensor {
    if (this.rank === 1) return this.reshape([1, this.shape[0] ?? 0]).matmul(o).squeezeAxis(-2);
    if (o.rank === 1) return this.matmul(o.reshape([o.shape[0] ?? 0, 1])).squeezeAxis(-1);
    return Tensor.op('matmul', [this, o], {});
  }

  // ---------------------------------------------------------------- reductions

  sum(axes?: number | readonly number[], keepdims = false): Tensor { return this.reduce('sum', axes, keepdims); }
  mean(axes?: number | readonly number[], keepdims = false): Tensor { return this.reduce('mean', axes, keepdims); }
  /** Largest element over `axes` (all by default), as torch.amax: tied maxima share the gradient evenly. */
  max(axes?: number | readonly number[], keepdims = false): Tensor { return this.reduce('max', axes, keepdims); }
  /** Smallest element over `axes` (all by default), as torch.amin: tied minima share the gradient evenly. */
  min(axes?: number | readonly number[], keepdims = false): Tensor { return this.neg().max(axes, keepdims).neg(); }

  private reduce(kind: 'sum' | 'mean' | 'max', axes: number | readonly number[] | undefined, keepdims: boolean): Tensor {
    const ax = normAxes(kind, typeof axes === 'number' ? [axes] : axes, this.rank);
    if (ax.length === 0) return this;
    return Tensor.op(kind, [this], { axes: ax, keepdims });
  }

  // ---------------------------------------------------------------- movement

  /** Reshape; one dim may be -1. */
  reshape(shape: readonly number[]): Tensor {
    const neg = shape.filter((d) => d === -1).length;
    if (neg > 1) throw shapeError('reshape', `at most one -1 allowed in ${fmtShape(shape)}`);
    let target = [...shape];
    if (neg === 1) {
      const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
      if (known === 0 || this.size % known !== 0) {
        throw shapeError('reshape', `cannot reshape ${fmtShape(this.shape)} to ${fmtShape(shape)}`);
      }
      target = shape.map((d) => (d === -1 ? this.size / known : d));
    }
    if (target.length === this.rank && target.every((d, i) => d === this.shape[i])) return this;
    return Tensor.op('reshape', [this], { shape: target });
  }

  /** Permutes dims (default: reverse them). */
  transpose(perm?: readonly number[]): Tensor {
    const p = (perm ?? Array.from({ length: this.rank }, (_, i) => this.rank - 1 - i)).map((a) => normAxis('transpose', a, this.rank));
    // A perm of the wrong length goes to the op, whose shape check names it.
    if (p.length !== this.rank) return Tensor.op('transpose', [this], { perm: p });
    if (p.every((v, i) => v === i)) return this;
    const n = this.node;
    const x = n.inputs[0];
    // A transpose of a transpose is one transpose (or none): out[j] = x[inner[p[j]]]. Not across a
    // gradient boundary (an inner transpose made under noGrad stays detached).
    if (n.op === 'transpose' && x !== undefined && n.requiresGrad === x.requiresGrad && (gradEnabled() || !x.requiresGrad)) {
      const inner = (n.attrs as OpAttrs['transpose']).perm;
      return new Tensor(x).transpose(p.map((j) => inner[j] as number));
    }
    return Tensor.op('transpose', [this], { perm: p });
  }

  /** Swaps two dims. */
  swapAxes(a: number, b: number): Tensor {
    const perm = Array.from({ length: this.rank }, (_, i) => i);
    const x = normAxis('swapAxes', a, this.rank);
    const y = normAxis('swapAxes', b, this.rank);
    perm[x] = y;
    perm[y] = x;
    return this.transpose(perm);
  }

  /** Matrix transpose of the last two dims. */
  get mT(): Tensor {
    return this.swapAxes(-1, -2);
  }

  /** `x[..., start:end, ...]` along one axis (negative bounds count from the end). */
  slice(axis: number, start: number, end?: number): Tensor {
    const ax = normAxis('slice', axis, this.rank);
    const n = this.shape[ax] ?? 0;
    const s = Math.min(Math.max(start < 0 ? start + n : start, 0), n);
    const e0 = end === undefined ? n : end < 0 ? end + n : end;
    const e = Math.min(Math.max(e0, s), n);
    if (s === 0 && e === n) return this;
    return Tensor.op('slice', [this], { axes: [ax], starts: [s], ends: [e] });
  }

  /** The first `ref.shape[refAxis]` entries along `axis` (follows the reference's length in exports). */
  sliceTo(axis: number, ref: Tensor, refAxis: number): Tensor {
    const ax = normAxis('sliceTo', axis, this.rank);
    const ra = normAxis('sliceTo', refAxis, ref.rank);
    return Tensor.op('sliceTo', [this, ref], { axis: ax, refAxis: ra });
  }

  /** Zero padding per dim. */
  pad(before: readonly number[], after: readonly number[]): Tensor {
    return Tensor.op('pad', [this], { before, after });
  }

  /** Concatenates tensors along an axis. */
  static concat(ts: readonly Tensor[], axis: number): Tensor {
    const first = ts[0];
    if (first === undefined) throw shapeError('concat', 'needs at least one tensor');
    if (ts.length === 1) return first;
    return Tensor.op('concat', ts, { axis: normAxis('concat', axis, first.rank) });
  }

  /** Broadcasts to a shape (NumPy rules). */
  expand(shape: readonly number[]): Tensor {
    if (shape.length === this.rank && shape.every((d, i) => d === this.shape[i])) return this;
    return Tensor.op('expand', [this], { shape });
  }

  /** Inserts a size-1 dim. */
  unsqueeze(axis: number): Tensor {
    const ax = normAxis('unsqueeze', axis, this.rank + 1);
    const s = [...this.shape];
    s.splice(ax, 0, 1);
    return this.reshape(s);
  }

  /** Removes a size-1 dim. */
  squeezeAxis(axis: number): Tensor {
    const ax = normAxis('squeeze', axis, this.rank);
    if (this.shape[ax] !== 1) throw shapeError('squeeze', `dim ${ax} of ${fmtShape(this.shape)} is not 1`);
    const s = [...this.shape];
    s.splice(ax, 1);
    return this.reshape(s);
  }

  /** `x.take(indices, axis)`: picks slices along `axis` by integer indices. */
  gather(indices: Tensor, axis = 0): Tensor {
    return Tensor.op('gather', [this, indices], { axis: normAxis('gather', axis, this.rank) });
  }

  // ---------------------------------------------------------------- fused compositions

  /** Softmax over an axis (fused forward, composed backward). */
  softmax(axis = -1): Tensor {
    return Tensor.op('softmax', [this], { axis: normAxis('softmax', axis, this.rank) });
  }

  /** Log-softmax over an axis (fused forward, composed backward). */
  logSoftmax(axis = -1): Tensor {
    return Tensor.op('logSoftmax', [this], { axis: normAxis('logSoftmax', axis, this.rank) });
  }

  /** Layer normalisation over the last axis. */
  layerNorm(gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
    return Tensor.op('layerNorm', [this, gamma, beta], { eps });
  }

  /** Asserts a float tensor (for APIs that need one). */
  expectFloat(op: string): this {
    if (this.dtype !== 'float32') throw dtypeError(op, `expected float32, got ${this.dtype}`);
    return this;
  }
}
