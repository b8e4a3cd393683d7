import type { Tensor } from '../tensor/tensor.js';
import { sameShape } from '../tensor/shape.js';

/**
 * Sums a broadcast gradient back to an operand's shape: over the leading dims the operand lacked
 * and over dims where it had size 1.
 */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) axes.push(i);
  }
  const s = axes.length > 0 ? g.sum(axes, true) : g;
  return s.reshape(shape);
}

/** Reshapes a reduced gradient to keepdims form and broadcasts it back to the input shape. */
export function expandReduced(g: Tensor, inShape: readonly number[], axes: readonly number[]): Tensor {
  const kept = inShape.map((d, i) => (axes.includes(i) ? 1 : d));
  return g.reshape(kept).expand(inShape);
}
