import { BINARY, CAST, COMPARE, UNARY, WHERE } from './elementwise.js';
import { GATHER, SCATTER_ADD } from './indexing.js';
import { GELU, LAYER_NORM, LOG_SOFTMAX, SOFTMAX } from './fused.js';
import { CONST, INPUT } from './leaf.js';
import { MATMUL } from './matmul.js';
import { CONCAT, EXPAND, PAD, RESHAPE, SLICE, SLICE_TO, TRANSPOSE } from './movement.js';
import type { PrimitiveTable } from './primitive.js';
import { REDUCE } from './reduce.js';

/** Every primitive, keyed by kind. Typed over `OpKind`, so a missing rule is a compile error. */
export const PRIMITIVES: PrimitiveTable = {
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
