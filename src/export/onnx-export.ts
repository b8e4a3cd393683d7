import { noGrad } from '../autograd/mode.js';
import { configError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { collectGraph } from '../runtime/graph.js';
import { lowerToOnnxFiles } from '../runtime/lower.js';
import type { ExternalDataSpec, MutableGraph, OnnxModelFiles } from '../runtime/onnx-builder.js';
import type { DType } from '../tensor/host-array.js';
import type { Node } from '../tensor/node.js';
import { Tensor } from '../tensor/tensor.js';

/** One input of an exported model: each dim is a fixed size or a symbolic name (e.g. 'batch'). */
export interface ExportInput {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly (number | string)[];
}

/** Export options. */
export interface ExportOptions {
  readonly outputNames: readonly string[];
  /** Sizes used to trace symbolic dims (default: distinct small primes not used by fixed dims). */
  readonly traceSizes?: Readonly<Record<string, number>>;
  readonly graphName?: string;
  /** Large initializers to an external-data file ({@link exportOnnxFiles} only). */
  readonly external?: ExternalDataSpec;
  /** A pass over the lowered graph before it is serialised (e.g. `quantizeMatMulsInt8`). */
  readonly rewrite?: (g: MutableGraph) => void;
}

const PRIMES = [3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47];

/**
 * Exports a forward function (e.g. a module's `forward`) to a standalone ONNX model: parameters
 * and tables are embedded as initializers, inputs keep their symbolic dims. The function is traced
 * once with placeholder inputs at trace sizes; shape-dependent steps use shape-agnostic encodings
 * (copied/inferred reshape dims, squeeze/unsqueeze, shape-following slices), and the exported
 * model is checked by running it at sizes other than the trace sizes in the tests.
 */
export function exportOnnx(fn: (inputs: readonly Tensor[]) => readonly Tensor[], inputs: readonly ExportInput[], opts: ExportOptions): Uint8Array {
  const files = exportOnnxFiles(fn, inputs, opts);
  if (files.data !== null) throw configError('export: the model has external data; use exportOnnxFiles');
  return files.model;
}

/** As {@link exportOnnx}; with `opts.external`, large initializers go to an external-data file (models past 2 GiB). */
export function exportOnnxFiles(fn: (inputs: readonly Tensor[]) => readonly Tensor[], inputs: readonly ExportInput[], opts: ExportOptions): OnnxModelFiles {
  const fixed = new Set(inputs.flatMap((i) => i.dims.filter((d): d is number => typeof d === 'number')));
  const symNames = [...new Set(inputs.flatMap((i) => i.dims.filter((d): d is string => typeof d === 'string')))];
  const trace = new Map<string, number>();
  const free = PRIMES.filter((p) => !fixed.has(p));
  symNames.forEach((s, k) => {
    const given = opts.traceSizes?.[s];
    const v = given ?? free[k];
    if (v === undefined || !(v >= 2)) throw configError(`export: no usable trace size for dim '${s}'`);
    trace.set(s, v);
  });
  const placeholders = inputs.map((i) => Tensor.placeholder(i.dims.map((d) => (typeof d === 'number' ? d : (trace.get(d) as number))), i.dtype, i.name));
  const outs = noGrad(() => fn(placeholders));
  if (outs.length !== opts.outputNames.length) throw configError(`export: ${outs.length} outputs but ${opts.outputNames.length} output names`);
  const g = collectGraph(outs.map((o) => o.node));
  const sizeToName = new Map<number, string>([...trace].map(([n, v]) => [v, n]));
  const symbolicDims = new Map<Node, readonly (string | null)[]>();
  placeholders.forEach((p, i) => symbolicDims.set(p.node, (inputs[i] as ExportInput).dims.map((d) => (typeof d === 'string' ? d : null))));
  // Output dims equal to a symbolic dim's (distinct, prime) trace size take its name; the others
  // do not depend on the inputs' symbolic dims and are declared with their fixed size.
  const lowered = new Map(outs.map((o) => [o.node, o.shape.map((d) => sizeToName.get(d) ?? null)] as const));
  for (const [node, dims] of lowered) if (!symbolicDims.has(node)) symbolicDims.set(node, dims);
  return lowerToOnnxFiles(g, {
    graphInputs: placeholders.map((p) => p.node),
    inputNames: inputs.map((i) => i.name),
    outputNames: opts.outputNames,
    symbolicDims,
    graphName: opts.graphName ?? 'protdistil_export',
    ...(opts.external === undefined ? {} : { external: opts.external }),
    ...(opts.rewrite === undefined ? {} : { rewrite: opts.rewrite }),
  });
}

/** Exports and writes the model atomically. */
export function exportOnnxFile(path: string, fn: (inputs: readonly Tensor[]) => readonly Tensor[], inputs: readonly ExportInput[], opts: ExportOptions): void {
  writeFileAtomic(path, exportOnnx(fn, inputs, opts));
}
