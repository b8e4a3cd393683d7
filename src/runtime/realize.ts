import type { Tensor } from '../tensor/tensor.js';
import { collectGraph } from './graph.js';
import { Program } from './program.js';

/**
 * Computes pending tensors: lowers their joint graph to one ONNX model (cached by structure),
 * runs it once and stores each result on its node, which from then on acts as data.
 */
export async function realize(...tensors: readonly Tensor[]): Promise<void> {
  const pending = [...new Set(tensors.filter((t) => !t.isRealized).map((t) => t.node))];
  if (pending.length === 0) return;
  const program = await Program.fromGraph(collectGraph(pending));
  const outs = await program.runWithNodeData();
  pending.forEach((n, i) => {
    n.realized = outs[i] ?? null;
  });
}
