/**
 * The closed set of primitive op kinds and the attributes each carries. Every kind must have an
 * entry in the primitive table (`primitive-table.ts`), which is typed over this union: a kind without a
 * lowering, a reference kernel or a gradient rule does not compile.
 */
export type BinaryKind = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';
export type CompareKind = 'less' | 'greater' | 'equal' | 'lessEqual' | 'greaterEqual' | 'and' | 'or';
export type UnaryKind =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'reciprocal' | 'tanh' | 'erf' | 'abs' | 'sign'
  | 'sigmoid' | 'not';
export type ReduceKind = 'sum' | 'mean' | 'max';

export type OpKind =
  | 'input' | 'const'
  | BinaryKind | CompareKind | UnaryKind | ReduceKind
  | 'where' | 'cast' | 'matmul'
  | 'reshape' | 'transpose' | 'slice' | 'sliceTo' | 'pad' | 'concat' | 'expand'
  | 'gather' | 'scatterAdd'
  | 'softmax' | 'logSoftmax' | 'layerNorm' | 'gelu';

import type { DType } from '../tensor/host-array.js';

/** Attributes per kind (empty records for kinds without attributes). */
export interface OpAttrs {
  input: { readonly name?: string };
  const: { readonly values: ArrayLike<number> };
  add: object; sub: object; mul: object; div: object; pow: object; maximum: object; minimum: object;
  less: object; greater: object; equal: object; lessEqual: object; greaterEqual: object;
  and: object; or: object;
  neg: object; exp: object; log: object; sqrt: object; rsqrt: object; reciprocal: object;
  tanh: object; erf: object; abs: object; sign: object; sigmoid: object; not: object;
  sum: { readonly axes: readonly number[]; readonly keepdims: boolean };
  mean: { readonly axes: readonly number[]; readonly keepdims: boolean };
  max: { readonly axes: readonly number[]; readonly keepdims: boolean };
  where: object;
  cast: { readonly to: DType };
  matmul: object;
  reshape: { readonly shape: readonly number[] };
  transpose: { readonly perm: readonly number[] };
  /** Per-axis [start, end) with step 1; `axes` sorted and normalised. */
  slice: { readonly axes: readonly number[]; readonly starts: readonly number[]; readonly ends: readonly number[] };
  /**
   * `x[0 : ref.shape[refAxis]]` along `axis`: a prefix whose length follows another tensor's dim,
   * so exported graphs slice position tables to the runtime sequence length.
   */
  sliceTo: { readonly axis: number; readonly refAxis: number };
  /** Zero padding: `before[i]`, `after[i]` per dim. */
  pad: { readonly before: readonly number[]; readonly after: readonly number[] };
  concat: { readonly axis: number };
  expand: { readonly shape: readonly number[] };
  /** `x.take(indices, axis)`: output shape = x.shape[:axis] + indices.shape + x.shape[axis+1:]. */
  gather: { readonly axis: number };
  /** Adds `updates` into rows of `base` (axis 0) selected by `indices`; the gradient of gather. */
  scatterAdd: object;
  softmax: { readonly axis: number };
  logSoftmax: { readonly axis: number };
  /** Normalises over the last axis: (x − mean) / sqrt(var + eps) · gamma + beta. */
  layerNorm: { readonly eps: number };
  /** Exact (erf) GELU. */
  gelu: object;
}
