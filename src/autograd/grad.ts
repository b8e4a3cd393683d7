import { shapeError } from '../errors.js';
import type { OpAttrs, OpKind } from '../ops/kinds.js';
import type { Primitive } from '../ops/primitive.js';
import { primitiveTable } from '../ops/primitive-table.js';
import type { Node } from '../tensor/node.js';
import { fmtShape, sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * Reverse-mode autodiff as a graph transform: walks the recorded graph from `output` back to the
 * nodes that require gradients and builds new graph nodes for the vector-Jacobian products.
 * Gradients of shared sub-expressions are summed. Nothing is computed until realized.
 */

/** Nodes that need a gradient, in topological order (inputs before users). */
function gradTopo(root: Node): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>([root]);
  const stack: [Node, number][] = [[root, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as [Node, number];
    const [n, i] = top;
    if (i < n.inputs.length) {
      top[1] = i + 1;
      const c = n.inputs[i] as Node;
      if (c.requiresGrad && !seen.has(c)) {
        seen.add(c);
        stack.push([c, 0]);
      }
      continue;
    }
    order.push(n);
    stack.pop();
  }
  return order;
}

/** Gradients of `output` w.r.t. every node that requires one (a map keyed by node). */
export function gradientMap(output: Tensor, gradOutput?: Tensor): Map<Node, Tensor> {
  let g0 = gradOutput;
  if (g0 === undefined) {
    if (output.size !== 1) throw shapeError('grad', `output has shape ${fmtShape(output.shape)}; give gradOutput for non-scalar outputs`);
    g0 = Tensor.full(output.shape, 1);
  } else if (!sameShape(g0.shape, output.shape)) {
    throw shapeError('grad', `gradOutput ${fmtShape(g0.shape)} does not match output ${fmtShape(output.shape)}`);
  }
  const grads = new Map<Node, Tensor>();
  if (!output.requiresGrad) return grads;
  grads.set(output.node, g0);
  const order = gradTopo(output.node);
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k] as Node;
    const g = grads.get(n);
    if (g === undefined || n.inputs.length === 0) continue;
    const prim = primitiveTable()[n.op] as unknown as Primitive<OpKind>;
    const ins = n.inputs.map((i) => new Tensor(i));
    const gs = prim.vjp(g, ins, new Tensor(n), n.attrs as OpAttrs[OpKind]);
    n.inputs.forEach((inp, i) => {
      const gi = gs[i];
      if (!inp.requiresGrad || gi === null || gi === undefined) return;
      const prev = grads.get(inp);
      grads.set(inp, prev === undefined ? gi : prev.add(gi));
    });
  }
  return grads;
}

/**
 * d(output)/d(each of `wrt`), as lazy tensors. Inputs that do not influence the output (or do not
 * require gradients) get zeros.
 */
export function grad(output: Tensor, wrt: readonly Tensor[], gradOutput?: Tensor): Tensor[] {
  const m = gradientMap(output, gradOutput);
  return wrt.map((w) => m.get(w.node) ?? Tensor.full(w.shape, 0));
}

/** Accumulates gradients into `.grad` of every reachable leaf that requires one. */
export function backward(output: Tensor, gradOutput?: Tensor): void {
  const m = gradientMap(output, gradOutput);
  for (const [n, g] of m) {
    if (n.op !== 'input') continue;
    n.grad = n.grad === null ? g : n.grad.add(g);
  }
}
