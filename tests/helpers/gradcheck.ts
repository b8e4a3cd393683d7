import assert from 'node:assert/strict';
import { grad } from '../../src/autograd/grad.js';
import { evaluateReference } from '../../src/runtime/reference.js';
import type { Node } from '../../src/tensor/node.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Rng } from '../../src/tensor/random.js';

/**
 * Finite-difference gradient check on the float64 reference evaluator: compares the graph-built
 * gradient of `sum(f(xs) · w)` (w a fixed random weight) with central differences.
 */
export function gradCheck(
  f: (xs: Tensor[]) => Tensor,
  inputs: readonly Float64Array[],
  shapes: readonly (readonly number[])[],
  opts: { wrt?: readonly number[]; h?: number; tol?: number; seed?: number; fixed?: readonly Tensor[] } = {},
): void {
  const h = opts.h ?? 1e-6;
  const tol = opts.tol ?? 1e-6;
  const wrt = opts.wrt ?? inputs.map((_, i) => i);
  const xs = shapes.map((s, i) => Tensor.from(Float32Array.from(inputs[i] as Float64Array), s, 'float32', wrt.includes(i)));
  const y = f(xs);
  const rng = new Rng(opts.seed ?? 99);
  const w = Tensor.constant(Array.from({ length: y.size }, () => rng.normal()), y.shape);
  const loss = y.mul(w).sum();
  const gs = grad(loss, wrt.map((i) => xs[i] as Tensor));
  const feeds = new Map<Node, Float64Array>(xs.map((x, i) => [x.node, Float64Array.from(inputs[i] as Float64Array)]));
  const analytic = evaluateReference(gs, feeds);
  wrt.forEach((xi, k) => {
    const base = feeds.get((xs[xi] as Tensor).node) as Float64Array;
    const an = analytic[k] as Float64Array;
    for (let j = 0; j < base.length; j++) {
      const orig = base[j] as number;
      base[j] = orig + h;
      const fp = (evaluateReference([loss], feeds)[0] as Float64Array)[0] as number;
      base[j] = orig - h;
      const fm = (evaluateReference([loss], feeds)[0] as Float64Array)[0] as number;
      base[j] = orig;
      const num = (fp - fm) / (2 * h);
      const a = an[j] as number;
      const err = Math.abs(a - num) / Math.max(1, Math.abs(num));
      assert.ok(err <= tol, `input ${xi} element ${j}: analytic ${a} vs numeric ${num} (err ${err.toExponential(2)} > ${tol})`);
    }
  });
}
