import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/tensor/random.js';
import { gelu } from '../../src/nn/functional/activations.js';
import { scaledDotProductAttention } from '../../src/nn/functional/attention.js';
import { applyRotary, rotaryInvFreq, rotaryTables } from '../../src/nn/functional/rotary.js';
import { crossEntropy, distillationLoss, klDivergence, mse } from '../../src/nn/functional/losses.js';
import { cosineSimilarity } from '../../src/nn/functional/similarity.js';

/**
 * One table of op cases shared by the conformance suite (ORT vs float64 reference) and the
 * finite-difference gradient checks. Inputs are float32 tensors built from `gen`.
 */
export interface OpCase {
  readonly name: string;
  readonly shapes: readonly (readonly number[])[];
  /** How to draw inputs: normal, positive (|N| + 0.5), or spread (values well apart, no ties). */
  readonly gen?: 'normal' | 'positive' | 'spread';
  readonly f: (xs: Tensor[]) => Tensor;
  /** Inputs to differentiate (default all); empty to skip the gradient check. */
  readonly wrt?: readonly number[];
  /** Max |ORT − reference| allowed, relative to max(1, |ref|max). */
  readonly ortTol?: number;
}

/** Deterministic inputs for a case. */
export function caseInputs(c: OpCase, seed: number): Float64Array[] {
  const rng = new Rng(seed);
  return c.shapes.map((s, k) => {
    const n = s.reduce((a, d) => a * d, 1);
    if (c.gen === 'spread') {
      // A shuffled grid with spacing 0.25, offset per input: no ties within or across inputs, so
      // comparisons and max/min gradients are well defined.
      const vals = rng.shuffle(Array.from({ length: n }, (_, i) => (i - n / 2) * 0.25 + 0.1 + 0.07 * k));
      return Float64Array.from(vals, (v) => Math.fround(v));
    }
    return Float64Array.from({ length: n }, () => Math.fround(c.gen === 'positive' ? Math.abs(rng.normal()) + 0.5 : rng.normal()));
  });
}

const int = (vals: number[], shape: number[], dtype: 'int32' | 'int64' = 'int64'): Tensor => Tensor.from(vals, shape, dtype);
const bool = (vals: number[], shape: number[]): Tensor => Tensor.from(vals, shape, 'bool');
const x0 = (xs: Tensor[]): Tensor => xs[0] as Tensor;
const x1 = (xs: Tensor[]): Tensor => xs[1] as Tensor;
const x2 = (xs: Tensor[]): Tensor => xs[2] as Tensor;

export const CASES: readonly OpCase[] = [
  // elementwise binary with broadcasting
  { name: 'add broadcast', shapes: [[2, 3, 4], [3, 1]], f: (x) => x0(x).add(x1(x)) },
  { name: 'add scalar tensor', shapes: [[4], []], f: (x) => x0(x).add(x1(x)) },
  { name: 'sub broadcast', shapes: [[3, 1], [1, 4]], f: (x) => x0(x).sub(x1(x)) },
  { name: 'mul broadcast', shapes: [[2, 3, 4], [4]], f: (x) => x0(x).mul(x1(x)) },
  { name: 'div', shapes: [[3, 4], [3, 4]], gen: 'positive', f: (x) => x0(x).div(x1(x)) },
  { name: 'pow', shapes: [[5], [5]], gen: 'positive', f: (x) => x0(x).pow(x1(x)) },
  { name: 'pow scalar exponent', shapes: [[2, 3]], gen: 'positive', f: (x) => x0(x).pow(3) },
  { name: 'maximum', shapes: [[3, 4], [4]], gen: 'spread', f: (x) => x0(x).maximum(x1(x)) },
  { name: 'minimum', shapes: [[3, 4], [3, 1]], gen: 'spread', f: (x) => x0(x).minimum(x1(x)) },
  // unary
  { name: 'neg', shapes: [[7]], f: (x) => x0(x).neg() },
  { name: 'exp', shapes: [[2, 3]], f: (x) => x0(x).exp() },
  { name: 'log', shapes: [[2, 3]], gen: 'positive', f: (x) => x0(x).log() },
  { name: 'sqrt', shapes: [[6]], gen: 'positive', f: (x) => x0(x).sqrt() },
  { name: 'rsqrt', shapes: [[6]], gen: 'positive', f: (x) => x0(x).rsqrt() },
  { name: 'reciprocal', shapes: [[6]], gen: 'positive', f: (x) => x0(x).reciprocal() },
  { name: 'tanh', shapes: [[2, 4]], f: (x) => x0(x).tanh() },
  { name: 'erf', shapes: [[3, 3]], f: (x) => x0(x).erf() },
  { name: 'abs', shapes: [[8]], gen: 'spread', f: (x) => x0(x).abs() },
  { name: 'sigmoid', shapes: [[5]], f: (x) => x0(x).sigmoid() },
  // comparisons, where, cast
  { name: 'where of comparison', shapes: [[3, 4], [3, 4]], gen: 'spread', f: (x) => x0(x).greater(x1(x)).where(x0(x).mul(2), x1(x).exp()) },
  { name: 'where mask broadcast', shapes: [[2, 3], [3]], f: (x) => bool([1, 0, 1], [3]).where(x0(x), x1(x)) },
  { name: 'comparisons to float', shapes: [[6], [6]], gen: 'spread', wrt: [], f: (x) => x0(x).less(x1(x)).cast('float32').add(x0(x).lessEqual(x1(x)).cast('float32')).add(x0(x).greaterEqual(0).cast('float32')).add(x0(x).equal(x0(x)).cast('float32')) },
  { name: 'logical ops', shapes: [[6]], gen: 'spread', wrt: [], f: (x) => x0(x).greater(0).logicalAnd(x0(x).less(1)).logicalOr(x0(x).less(-1)).logicalNot().cast('float32') },
  { name: 'cast int to float', shapes: [[4]], f: (x) => x0(x).mul(int([1, -2, 3, 0], [4]).cast('float32')) },
  { name: 'cast float to int and back', shapes: [[6]], wrt: [], f: (x) => x0(x).mul(3).cast('int32').cast('float32') },
  // matmul
  { name: 'matmul 2-D', shapes: [[3, 4], [4, 5]], f: (x) => x0(x).matmul(x1(x)) },
  { name: 'matmul batched broadcast', shapes: [[2, 1, 3, 4], [3, 4, 5]], f: (x) => x0(x).matmul(x1(x)) },
  { name: 'matmul vector', shapes: [[3, 4], [4]], f: (x) => x0(x).matmul(x1(x)) },
  { name: 'matmul batched @ shared weight', shapes: [[2, 3, 3, 4], [4, 5]], f: (x) => x0(x).matmul(x1(x)) },
  { name: 'matmul shared left @ batched', shapes: [[3, 4], [2, 4, 5]], f: (x) => x0(x).matmul(x1(x)) },
  // reductions
  { name: 'sum all', shapes: [[2, 3, 4]], f: (x) => x0(x).sum() },
  { name: 'sum axis 1 keepdims', shapes: [[2, 3, 4]], f: (x) => x0(x).sum(1, true).mul(x0(x)) },
  { name: 'sum axes 0,2', shapes: [[2, 3, 4]], f: (x) => x0(x).sum([0, 2]) },
  { name: 'mean last', shapes: [[3, 5]], f: (x) => x0(x).mean(-1) },
  { name: 'mean axis 0 keepdims', shapes: [[3, 5]], f: (x) => x0(x).mean(0, true) },
  { name: 'max axis 0', shapes: [[4, 3]], gen: 'spread', f: (x) => x0(x).max(0) },
  { name: 'max last keepdims', shapes: [[2, 3, 4]], gen: 'spread', f: (x) => x0(x).max(-1, true) },
  // movement
  { name: 'reshape', shapes: [[2, 6]], f: (x) => x0(x).reshape([3, -1]).mul(Tensor.constant([1, 2, 3, 4], [4])) },
  { name: 'transpose', shapes: [[2, 3, 4]], f: (x) => x0(x).transpose([2, 0, 1]).mul(Tensor.constant([1, 2, 3], [3])) },
  { name: 'slice', shapes: [[4, 5]], f: (x) => x0(x).slice(1, 1, 4).slice(0, -2) },
  { name: 'pad', shapes: [[2, 3]], f: (x) => x0(x).pad([1, 0], [0, 2]).mul(Tensor.constant(Array.from({ length: 15 }, (_, i) => i), [3, 5])) },
  { name: 'concat', shapes: [[2, 3], [2, 1], [2, 2]], f: (x) => Tensor.concat([x0(x), x1(x), x2(x)], 1).mul(Tensor.constant([1, 2, 3, 4, 5, 6], [6])) },
  { name: 'expand', shapes: [[3, 1]], f: (x) => x0(x).expand([2, 3, 4]).mul(Tensor.constant(Array.from({ length: 24 }, (_, i) => i), [2, 3, 4])) },
  { name: 'gather axis 0 with repeats', shapes: [[5, 3]], f: (x) => x0(x).gather(int([4, 0, 4, 2], [2, 2]), 0) },
  { name: 'gather axis 1 int32', shapes: [[2, 4, 3]], f: (x) => x0(x).gather(int([3, 1, 3], [3], 'int32'), 1) },
  { name: 'scatterAdd', shapes: [[4, 2], [3, 2]], f: (x) => Tensor.op('scatterAdd', [x0(x), int([1, 3, 1], [3]), x1(x)], {}) },
  // fused
  { name: 'softmax last', shapes: [[3, 5]], f: (x) => x0(x).softmax(-1) },
  { name: 'softmax axis 0', shapes: [[3, 5]], f: (x) => x0(x).softmax(0) },
  { name: 'logSoftmax', shapes: [[2, 3, 4]], f: (x) => x0(x).logSoftmax(-1) },
  { name: 'layerNorm', shapes: [[2, 3, 6], [6], [6]], f: (x) => x0(x).layerNorm(x1(x), x2(x), 1e-5) },
  // compositions
  { name: 'gelu', shapes: [[11]], f: (x) => gelu(x0(x)) },
  {
    name: 'attention with key padding',
    shapes: [[2, 2, 5, 4], [2, 2, 5, 4], [2, 2, 5, 4]],
    f: (x) => scaledDotProductAttention(x0(x), x1(x), x2(x), { keyPaddingMask: bool([0, 0, 0, 0, 0, 0, 0, 0, 1, 1], [2, 5]) }).out,
  },
  {
    name: 'attention probabilities',
    shapes: [[1, 2, 4, 4], [1, 2, 4, 4], [1, 2, 4, 4]],
    wrt: [0, 1],
    f: (x) => scaledDotProductAttention(x0(x), x1(x), x2(x), { keyPaddingMask: bool([0, 0, 1, 1], [1, 4]) }).probs,
  },
  {
    name: 'rotary',
    shapes: [[2, 2, 6, 8]],
    f: (x) => {
      const { cos, sin } = rotaryTables(6, rotaryInvFreq(8));
      return applyRotary(x0(x), cos, sin);
    },
  },
  { name: 'crossEntropy ignore index', shapes: [[6, 7]], f: (x) => crossEntropy(x0(x), int([1, -100, 6, 0, -100, 3], [6])) },
  { name: 'crossEntropy 3-D', shapes: [[2, 3, 5]], f: (x) => crossEntropy(x0(x), int([4, 0, -100, 2, 2, 1], [2, 3])) },
  { name: 'klDivergence temperature', shapes: [[4, 6], [4, 6]], wrt: [0], f: (x) => klDivergence(x0(x), x1(x), 2) },
  { name: 'distillation loss', shapes: [[6, 7], [6, 7]], wrt: [0], f: (x) => distillationLoss(x0(x), x1(x), int([1, -100, 6, 0, -100, 3], [6]), { lambda: 0.3, temperature: 2 }).loss },
  { name: 'mse', shapes: [[4, 5], [4, 5]], f: (x) => mse(x0(x), x1(x)) },
  { name: 'cosine similarity', shapes: [[4, 5], [4, 5]], f: (x) => cosineSimilarity(x0(x), x1(x)) },
  { name: 'shared subexpression', shapes: [[3, 3]], f: (x) => { const s = x0(x).tanh(); return s.matmul(s).add(s.mul(s)); } },
];

/** Cases added for shape-following ops. */
export const EXTRA_CASES: readonly OpCase[] = [
  { name: 'sliceTo follows a reference length', shapes: [[6, 4], [2, 3, 5]], wrt: [0], f: (x) => x0(x).sliceTo(0, x1(x), 1).mul(Tensor.constant(Array.from({ length: 12 }, (_, i) => i - 5), [3, 4])) },
];
