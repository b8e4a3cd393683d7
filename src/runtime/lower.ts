import { primitiveTable } from '../ops/primitive-table.js';
import type { Node } from '../tensor/node.js';
import type { OpAttrs, OpKind } from '../ops/kinds.js';
import type { Primitive } from '../ops/primitive.js';
import { configError, runtimeError } from '../errors.js';
import { OnnxGraphBuilder, type ExternalDataSpec, type MutableGraph, type OnnxModelFiles, type ValueDecl } from './onnx-builder.js';
import type { PendingGraph } from './graph.js';

/** Options for lowering: symbolic dims for export (input name -> per-dim names or null). */
export interface LowerOptions {
  /**
   * Graph inputs for a standalone model, in order; every other data node (parameters, tables) is
   * embedded as an initializer. Default: every data node is a graph input (engine programs).
   */
  readonly graphInputs?: readonly Node[];
  readonly inputNames?: readonly string[];
  readonly outputNames?: readonly string[];
  readonly symbolicDims?: ReadonlyMap<Node, readonly (string | null)[]>;
  readonly graphName?: string;
  /** Large initializers to an external-data file (standalone models only; see {@link lowerToOnnxFiles}). */
  readonly external?: ExternalDataSpec;
  /** A pass over the lowered graph before it is serialised (e.g. int8 quantisation, export/quantize-int8.ts). */
  readonly rewrite?: (g: MutableGraph) => void;
}

/** Lowers a pending graph to a serialised ONNX model whose inputs follow `g.inputs` order. */
export function lowerToOnnx(g: PendingGraph, opts: LowerOptions = {}): Uint8Array {
  const files = lowerToOnnxFiles(g, opts);
  if (files.data !== null) throw configError('lowerToOnnx: the model has external data; use lowerToOnnxFiles');
  return files.model;
}

/** As {@link lowerToOnnx}, with large initializers moved to an external-data file when `opts.external` is set. */
export function lowerToOnnxFiles(g: PendingGraph, opts: LowerOptions = {}): OnnxModelFiles {
  const symbolic = opts.symbolicDims !== undefined && opts.symbolicDims.size > 0;
  const b = new OnnxGraphBuilder(symbolic);
  const names = new Map<Node, string>();
  const declared = opts.graphInputs ?? g.inputs;
  if (opts.graphInputs !== undefined) {
    for (const n of g.inputs) {
      if (declared.includes(n)) continue;
      if (n.realized === null) throw runtimeError('export: the graph reads a placeholder that is not one of the declared inputs');
      names.set(n, b.constant(n.dtype, n.realized, n.shape));
    }
  }
  const inputs: ValueDecl[] = declared.map((n, i) => {
    const name = opts.inputNames?.[i] ?? `in${i}`;
    names.set(n, name);
    const sym = opts.symbolicDims?.get(n);
    return { name, dtype: n.dtype, dims: n.shape.map((d, k) => sym?.[k] ?? d) };
  });
  const outName = (k: number): string => opts.outputNames?.[k] ?? `out${k}`;
  const values = lowerOps(b, g, names, outName);
  const outputs: ValueDecl[] = g.outputs.map((o, k) => {
    const sym = opts.symbolicDims?.get(o);
    // With a map entry, null marks a fixed dim; without one, symbolic lowering leaves dims named.
    return { name: values[k] as string, dtype: o.dtype, dims: o.shape.map((d, i) => (sym === undefined ? (symbolic ? `${outName(k)}_d${i}` : d) : (sym[i] ?? d))) };
  });
  opts.rewrite?.(b.mutableGraph(outputs.map((o) => o.name)));
  return b.buildFiles(inputs, outputs, opts.graphName ?? 'protdistil', opts.external ?? null);
}

/**
 * Lowers `g.ops` into `b`, reading the value names of `g.inputs` from `names` (which it extends),
 * and returns the value name of every output: output k is named `outName(k)` — the producing
 * node's own output renamed when possible, an Identity otherwise (an output that is an input, or
 * that appears twice). Identical ops on identical inputs are emitted once (common
 * subexpressions: the gradient norm and Adam's second moment both square the same gradient, say).
 */
export function lowerOps(b: OnnxGraphBuilder, g: PendingGraph, names: Map<Node, string>, outName: (k: number) => string): string[] {
  const firstOut = new Map<Node, number>();
  g.outputs.forEach((o, k) => {
    if (!firstOut.has(o)) firstOut.set(o, k);
  });
  const emitted = new Map<string, string>();
  for (const n of g.ops) {
    const ins = n.inputs.map((i) => {
      const v = names.get(i);
      if (v === undefined) throw runtimeError(`lowering: input of ${n.op} node was not lowered before it`);
      return v;
    });
    const key = `${n.op}${JSON.stringify(n.attrs)}${n.dtype}[${n.shape.join(',')}](${ins.join(',')})`;
    const same = emitted.get(key);
    if (same !== undefined) {
      names.set(n, same);
      continue;
    }
    const prim = primitiveTable()[n.op] as unknown as Primitive<OpKind>;
    let v = prim.lower(b, n, ins, n.attrs as OpAttrs[OpKind]);
    const k = firstOut.get(n);
    if (k !== undefined && b.renameLastOutput(v, outName(k))) v = outName(k);
    names.set(n, v);
    emitted.set(key, v);
  }
  return g.outputs.map((o, k) => {
    const v = names.get(o);
    if (v === undefined) throw runtimeError('lowering: a graph output was not lowered');
    return v === outName(k) ? v : renameVia(b, v, outName(k));
  });
}

function renameVia(b: OnnxGraphBuilder, from: string, to: string): string {
  const id = b.emit('Identity', [from]);
  b.renameLastOutput(id, to);
  return to;
}
