import { runtimeError, shapeError } from '../errors.js';
import type { DataOf, DType, HostArray } from '../tensor/host-array.js';
import type { Node } from '../tensor/node.js';
import { fmtShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { collectGraph } from './graph.js';
import { lowerToOnnx } from './lower.js';
import { ortTensor, OrtSession, type RuntimeOptions } from './ort.js';
import { runtimeOptions } from './program.js';

/**
 * A graph compiled once for inputs of varying shape. Where `Program` fixes every shape (one
 * session per shape signature), here some inputs get symbolic dims (the export lowering), so one
 * ONNX Runtime session runs every shape; all other graph inputs (weights) are fed from their
 * nodes' current buffers on each run, so they are never copied into the model. Outputs are
 * allocated by ORT at the size each run produces.
 */
export interface SymbolicInput {
  /** A placeholder of the traced graph. */
  readonly tensor: Tensor;
  /** Graph input name. */
  readonly name: string;
  /** One name per dim for symbolic dims, or null to keep a dim fixed. */
  readonly dims: readonly (string | null)[];
}

/** Options of `SymbolicProgram.compile`. */
export interface SymbolicProgramOptions {
  readonly graphName?: string;
  readonly runtime?: RuntimeOptions;
}

/** A compiled graph with symbolic input dims (see above). */
export class SymbolicProgram {
  private constructor(
    private readonly session: OrtSession,
    private readonly symbolic: readonly SymbolicInput[],
    private readonly dataInputs: readonly Node[],
    private readonly outputDtypes: readonly DType[],
  ) {}

  /** Traced `outputs` over the placeholders in `symbolic` (each must be read by the graph). */
  static async compile(outputs: readonly Tensor[], symbolic: readonly SymbolicInput[], opts: SymbolicProgramOptions = {}): Promise<SymbolicProgram> {
    const g = collectGraph(outputs.map((o) => o.node));
    const symbolicNodes = symbolic.map((s) => s.tensor.node);
    for (const s of symbolic) {
      if (!g.inputs.includes(s.tensor.node)) throw runtimeError(`SymbolicProgram: the traced graph does not read input '${s.name}'`);
      if (s.dims.length !== s.tensor.shape.length) throw shapeError('SymbolicProgram', `input '${s.name}' has ${s.tensor.shape.length} dims but ${s.dims.length} dim names`);
    }
    const dataInputs = g.inputs.filter((n) => !symbolicNodes.includes(n));
    const bytes = lowerToOnnx(g, {
      graphInputs: [...symbolicNodes, ...dataInputs],
      inputNames: [...symbolic.map((s) => s.name), ...dataInputs.map((_, i) => `w${i}`)],
      outputNames: outputs.map((_, i) => `out${i}`),
      symbolicDims: new Map(symbolic.map((s) => [s.tensor.node, s.dims] as const)),
      ...(opts.graphName === undefined ? {} : { graphName: opts.graphName }),
    });
    const session = await OrtSession.create(bytes, opts.runtime ?? runtimeOptions());
    return new SymbolicProgram(session, symbolic, dataInputs, outputs.map((o) => o.dtype));
  }

  /** Runs with one host array per symbolic input (in `compile` order); returns the outputs in order. */
  async run(inputs: readonly HostArray[]): Promise<HostArray[]> {
    const feeds: Record<string, ReturnType<typeof ortTensor>> = {};
    this.symbolic.forEach((s, i) => {
      const x = inputs[i];
      if (x === undefined) throw runtimeError(`SymbolicProgram: input '${s.name}' has no data`);
      if (x.dtype !== s.tensor.dtype || x.shape.length !== s.dims.length) {
        throw shapeError('SymbolicProgram.run', `input '${s.name}' must be ${s.tensor.dtype} with ${s.dims.length} dims, got ${x.dtype} ${fmtShape(x.shape)}`);
      }
      feeds[s.name] = ortTensor(x.dtype, x.data, x.shape);
    });
    this.dataInputs.forEach((n, i) => {
      if (n.realized === null) throw runtimeError(`SymbolicProgram: graph input ${i} (${fmtShape(n.shape)}) has no data`);
      feeds[`w${i}`] = ortTensor(n.dtype, n.realized, n.shape);
    });
    const raw = await this.session.runAlloc(feeds);
    return this.outputDtypes.map((dtype, i) => {
      const v = raw[`out${i}`];
      if (v === undefined) throw runtimeError(`SymbolicProgram: output ${i} missing`);
      return { dtype, shape: [...v.dims], data: v.data as DataOf[DType] } as HostArray;
    });
  }
}
