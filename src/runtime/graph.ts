import type { Node } from '../tensor/node.js';

/**
 * The pending sub-graph behind some output nodes: op nodes in topological order and the data
 * nodes (graph inputs) they read, both in a deterministic order that depends only on structure.
 */
export interface PendingGraph {
  readonly ops: readonly Node[];
  readonly inputs: readonly Node[];
  readonly outputs: readonly Node[];
}

/** Collects the pending graph by an iterative post-order walk that stops at data nodes. */
export function collectGraph(outputs: readonly Node[]): PendingGraph {
  const seen = new Set<Node>();
  const ops: Node[] = [];
  const inputs: Node[] = [];
  for (const root of outputs) {
    if (seen.has(root)) continue;
    const stack: [Node, number][] = [[root, 0]];
    seen.add(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as [Node, number];
      const [node, next] = top;
      if (node.isData) {
        inputs.push(node);
        stack.pop();
        continue;
      }
      if (next < node.inputs.length) {
        top[1] = next + 1;
        const child = node.inputs[next] as Node;
        if (!seen.has(child)) {
          seen.add(child);
          stack.push([child, 0]);
        }
        continue;
      }
      ops.push(node);
      stack.pop();
    }
  }
  return { ops, inputs, outputs };
}

/**
 * A structural key of a pending graph: op kinds, attributes, shapes, dtypes and wiring, with
 * nodes numbered locally. Two graphs with the same key compile to the same ONNX model.
 */
export function graphKey(g: PendingGraph, extra = ''): string {
  const local = new Map<Node, number>();
  const parts: string[] = [extra];
  for (const n of g.inputs) {
    local.set(n, local.size);
    parts.push(`I${n.dtype}[${n.shape.join(',')}]`);
  }
  for (const n of g.ops) {
    local.set(n, local.size);
    parts.push(`${n.op}${JSON.stringify(n.attrs)}${n.dtype}[${n.shape.join(',')}](${n.inputs.map((i) => local.get(i)).join(',')})`);
  }
  parts.push(`O${g.outputs.map((o) => local.get(o)).join(',')}`);
  return parts.join(';');
}
