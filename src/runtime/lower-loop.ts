import { configError } from '../errors.js';
import type { DType } from '../tensor/host-array.js';
import type { Node } from '../tensor/node.js';
import type { PendingGraph } from './graph.js';
import { lowerOps } from './lower.js';
import { OnnxGraphBuilder, type ValueDecl } from './onnx-builder.js';

/**
 * Lowering of a step graph (one training step, say) into an ONNX `Loop` that runs it `steps`
 * times in ONE session run. The step's inputs fall in three kinds:
 * - stacked: a different value each iteration, fed stacked along a new leading axis of length
 *   `steps` (batches, per-step learning-rate scalars); the body takes row `i` with a Gather;
 * - carried: iteration i+1 reads as `input` what iteration i produced as output `output`
 *   (parameters, optimizer state); the model returns the values after the last iteration;
 * - every other input is read unchanged by every iteration (frozen weights, tables).
 * Outputs listed in `scan` are collected per iteration (losses, metrics), stacked along a leading
 * axis. ONNX Runtime hands each iteration's values to the next without copying them to the host,
 * which single-step runs must do for every updated tensor.
 */
export interface LoopSpec {
  readonly steps: number;
  readonly stacked: readonly Node[];
  readonly carried: readonly { readonly input: Node; readonly output: number }[];
  readonly scan: readonly number[];
}

/** The lowered loop model and the order of its inputs and outputs. */
export interface LoweredLoop {
  readonly model: Uint8Array;
  /** Model inputs in order: the stacked ones, then the carried initial values, then the others. */
  readonly inputs: readonly { readonly name: string; readonly node: Node; readonly dtype: DType; readonly dims: readonly number[] }[];
  /** Model outputs in order: the carried final values (spec order), then the scanned outputs. */
  readonly outputs: readonly ValueDecl[];
}

/** Lowers `g` under `spec` (see LoopSpec). */
export function lowerLoop(g: PendingGraph, spec: LoopSpec): LoweredLoop {
  const k = spec.steps;
  if (!Number.isInteger(k) || k < 1) throw configError(`loop: steps must be a positive integer, got ${k}`);
  const outIdx = [...spec.carried.map((c) => c.output), ...spec.scan];
  if (new Set(outIdx).size !== outIdx.length || outIdx.some((i) => !Number.isInteger(i) || i < 0 || i >= g.outputs.length)) {
    throw configError(`loop: carried and scanned outputs must be distinct indices in [0, ${g.outputs.length})`);
  }
  const stackedAt = new Map(spec.stacked.map((n, i) => [n, i] as const));
  const carriedAt = new Map(spec.carried.map((c, i) => [c.input, i] as const));
  if (stackedAt.size !== spec.stacked.length || carriedAt.size !== spec.carried.length || spec.stacked.some((n) => carriedAt.has(n))) {
    throw configError('loop: an input is listed twice (stacked or carried)');
  }
  const decl = (n: Node, name: string, lead: number[] = []): ValueDecl => ({ name, dtype: n.dtype, dims: [...lead, ...n.shape] });

  // The body: (iteration, condition, carried...) -> (condition, carried..., scanned...).
  const body = new OnnxGraphBuilder(false, 'b_');
  const names = new Map<Node, string>();
  const others: Node[] = [];
  spec.carried.forEach((c, i) => names.set(c.input, `b_carry${i}`));
  for (const n of g.inputs) {
    const s = stackedAt.get(n);
    if (s !== undefined) names.set(n, body.emit('Gather', [`stack${s}`, 'b_iter'], { axis: { int: 0 } })); // (steps, …) -> (…)
    else if (!carriedAt.has(n)) {
      names.set(n, `x${others.length}`); // read from the outer graph
      others.push(n);
    }
  }
  const values = lowerOps(body, g, names, (i) => `b_out${i}`);
  const condOut = body.emit('Identity', ['b_cond']);
  const bodyGraph = body.graph(
    [{ name: 'b_iter', dtype: 'int64', dims: [] }, { name: 'b_cond', dtype: 'bool', dims: [] }, ...spec.carried.map((c, i) => decl(c.input, `b_carry${i}`))],
    [{ name: condOut, dtype: 'bool', dims: [] }, ...outIdx.map((i) => decl(g.outputs[i] as Node, values[i] as string))],
    'step',
  );

  // The outer graph: one Loop node.
  const outer = new OnnxGraphBuilder();
  const trip = outer.constant('int64', [k], []);
  const always = outer.constant('bool', [1], []);
  const results = outer.emitWithGraph('Loop', [trip, always, ...spec.carried.map((_, i) => `carry${i}`)], outIdx.length, 'body', bodyGraph);
  const inputs = [
    ...spec.stacked.map((n, i) => ({ name: `stack${i}`, node: n, dtype: n.dtype, dims: [k, ...n.shape] })),
    ...spec.carried.map((c, i) => ({ name: `carry${i}`, node: c.input, dtype: c.input.dtype, dims: [...c.input.shape] })),
    ...others.map((n, i) => ({ name: `x${i}`, node: n, dtype: n.dtype, dims: [...n.shape] })),
  ];
  const outputs = [
    ...spec.carried.map((c, i) => decl(g.outputs[c.output] as Node, results[i] as string)),
    ...spec.scan.map((o, j) => decl(g.outputs[o] as Node, results[spec.carried.length + j] as string, [k])),
  ];
  return { model: outer.build(inputs, outputs, 'protdistil_loop'), inputs, outputs };
}
