import { shapeError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * A dense layer's weights as plain data: y = x·Wᵀ + b with W (out, in), as PyTorch's nn.Linear.
 * Teachers are kept in this form so that every method (SVD, closed form, distillation, latency,
 * export) reads the same float32 values.
 */
export interface DenseLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** (out, in), row-major. */
  readonly weight: Float32Array;
  /** (out). */
  readonly bias: Float32Array;
}

/** Checks the buffer sizes of a dense layer. */
export function denseLayer(inFeatures: number, outFeatures: number, weight: Float32Array, bias: Float32Array): DenseLayer {
  if (weight.length !== inFeatures * outFeatures) throw shapeError('denseLayer', `weight has ${weight.length} values, expected ${outFeatures} x ${inFeatures}`);
  if (bias.length !== outFeatures) throw shapeError('denseLayer', `bias has ${bias.length} values, expected ${outFeatures}`);
  return { inFeatures, outFeatures, weight, bias };
}

/** Number of parameters (weight and bias). */
export function denseParameters(l: DenseLayer): number {
  return l.weight.length + l.bias.length;
}

/** The lazy forward x·Wᵀ + b on an (N, in) tensor: (N, in) @ (in, out) -> (N, out). */
export function denseForward(l: DenseLayer, x: Tensor): Tensor {
  const w = Tensor.from(l.weight, [l.outFeatures, l.inFeatures]);
  const b = Tensor.from(l.bias, [l.outFeatures]);
  return x.matmul(w.mT).add(b);
}

/** Rows at a time for engine passes over whole datasets (bounds graph sizes and memory). */
const CHUNK_ROWS = 8192;

/**
 * Applies a lazy row-wise map `f` ((n, in) -> (n, out)) to all rows of a matrix on the engine,
 * in chunks; returns the (rows, out) result.
 */
export async function mapRows(data: Float32Array, rows: number, inDim: number, outDim: number, f: (x: Tensor) => Tensor): Promise<Float32Array> {
  const out = new Float32Array(rows * outDim);
  for (let r0 = 0; r0 < rows; r0 += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, rows - r0);
    const x = Tensor.from(data.subarray(r0 * inDim, (r0 + n) * inDim), [n, inDim]);
    const y = f(x);
    if (y.shape[0] !== n || y.shape[1] !== outDim) throw shapeError('mapRows', `map gave shape [${y.shape.join(', ')}], expected [${n}, ${outDim}]`);
    out.set((await y.toArray()) as Float32Array, r0 * outDim);
  }
  return out;
}
