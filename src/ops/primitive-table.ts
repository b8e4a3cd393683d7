import { BINARY, CAST, COMPARE, UNARY, WHERE } from './elementwise.js';
import { GATHER, SCATTER_ADD } from './indexing.js';
import { GELU, LAYER_NORM, LOG_SOFTMAX, SOFTMAX } from './fused.js';
import { CONST, INPUT } from './leaf.js';
import { MATMUL } from './matmul.js';
import { CONCAT, EXPAND, PAD, RESHAPE, SLICE, SLICE_TO, TRANSPOSE } from './movement.js';
import type { PrimitiveTable } from './primitive.js';
import { REDUCE } from './reduce.js';

let table: PrimitiveTable | undefined;

/**
 * Every primitive, keyed by kind. Typed over `OpKind`, so a missing rule is a compile error.
 * Built on first call, not at module evaluation: the op modules import `Tensor` (their VJPs are
 * written with tensor ops) and `tensor.ts` imports this table, so reading the op modules' exports
 * while this module evaluates would fail whenever an op module is imported before `tensor.ts`.
 */
export function primitiveTable(): PrimitiveTable {
  table ??= {
    input: INPUT,
    const: CONST,
    ...BINARY,
    ...COMPARE,
    ...UNARY,
    ...REDUCE,
    where: WHERE,
    cast: CAST,
    matmul: MATMUL,
    reshape: RESHAPE,
    transpose: TRANSPOSE,
    slice: SLICE,
    sliceTo: SLICE_TO,
    pad: PAD,
    concat: CONCAT,
    expand: EXPAND,
    gather: GATHER,
    scatterAdd: SCATTER_ADD,
    softmax: SOFTMAX,
    logSoftmax: LOG_SOFTMAX,
    layerNorm: LAYER_NORM,
    gelu: GELU,
  };
  return table;
}
