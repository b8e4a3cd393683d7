import type { DType } from '../tensor/host-array.js';
import type { Node } from '../tensor/node.js';
import type { Tensor } from '../tensor/tensor.js';
import type { OpAttrs, OpKind } from './kinds.js';

/** An ONNX attribute value, tagged so ints and floats never get confused. */
export type OnnxAttr =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly string: string };

/** What a lowering can do: emit ONNX nodes and constants, returning value names. */
export interface LowerCtx {
  /** Emits one node with one output; returns the output's value name. */
  emit(opType: string, inputs: readonly string[], attrs?: Readonly<Record<string, OnnxAttr>>): string;
  /** An int64 constant (1-D unless `dims` given). */
  constI64(values: readonly number[], dims?: readonly number[]): string;
  /** A float32 constant of the given dims. */
  constF32(values: ArrayLike<number>, dims: readonly number[]): string;
  /** A constant of any dtype and dims. */
  constant(dtype: DType, values: ArrayLike<number> | BigInt64Array, dims: readonly number[]): string;
  /** True when lowering for export with symbolic dims: prefer shape-agnostic encodings. */
  readonly symbolic: boolean;
}

/** A value in the float64 reference evaluator (ints and bools also held as float64). */
export interface RefValue {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

/** Static result of shape/dtype inference. */
export interface Inferred {
  readonly shape: number[];
  readonly dtype: DType;
}

/**
 * One primitive: shape inference, ONNX lowering, float64 reference kernel and VJP side by side.
 * `vjp` receives the output gradient and returns one gradient per input (null: none flows).
 */
export interface Primitive<K extends OpKind> {
  readonly infer: (inputs: readonly Node[], attrs: OpAttrs[K]) => Inferred;
  readonly lower: (ctx: LowerCtx, node: Node, inputs: readonly string[], attrs: OpAttrs[K]) => string;
  readonly ref: (inputs: readonly RefValue[], attrs: OpAttrs[K], out: Inferred) => Float64Array;
  readonly vjp: (g: Tensor, inputs: readonly Tensor[], out: Tensor, attrs: OpAttrs[K]) => readonly (Tensor | null)[];
}

/** The primitive table type: one entry per op kind, checked by the compiler. */
export type PrimitiveTable = { readonly [K in OpKind]: Primitive<K> };

/** ONNX TensorProto data types for our dtypes. */
export const ONNX_DTYPE: Readonly<Record<DType, number>> = { float32: 1, int32: 6, int64: 7, bool: 9 };
