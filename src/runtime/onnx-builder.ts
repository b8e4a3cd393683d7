import { createRequire } from 'node:module';
import type { onnx as OnnxNs } from 'onnx-proto';
import type { ChunkedBytes } from '../io/atomic-write.js';
import type { DType } from '../tensor/host-array.js';
import { ONNX_DTYPE, type LowerCtx, type OnnxAttr } from '../ops/primitive.js';

// onnx-proto ships CommonJS; load it through require so its generated classes resolve.
const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNs };

/** The ONNX opset protdistil emits (LayerNormalization 17, Reduce* with axes inputs 18, Gelu 20). */
export const OPSET = 20;

/** A graph input or output declaration; string dims are symbolic. */
export interface ValueDecl {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly (number | string)[];
}

function attrProto(name: string, a: OnnxAttr): OnnxNs.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in a) return { name, type: T.INT, i: a.int };
  if ('float' in a) return { name, type: T.FLOAT, f: a.float };
  if ('ints' in a) return { name, type: T.INTS, ints: [...a.ints] };
  if ('floats' in a) return { name, type: T.FLOATS, floats: [...a.floats] };
  return { name, type: T.STRING, s: new TextEncoder().encode(a.string) };
}

function rawBytes(dtype: DType, values: ArrayLike<number> | BigInt64Array): Uint8Array {
  // Typed arrays of the right kind are viewed, not copied.
  if (dtype === 'float32' && values instanceof Float32Array) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (dtype === 'int32' && values instanceof Int32Array) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (dtype === 'int64' && values instanceof BigInt64Array) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (dtype === 'bool' && values instanceof Uint8Array) return values;
  const v = values as ArrayLike<number>;
  switch (dtype) {
    case 'float32':
      return new Uint8Array(Float32Array.from(v).buffer);
    case 'int32':
      return new Uint8Array(Int32Array.from(v).buffer);
    case 'int64':
      return new Uint8Array(BigInt64Array.from(Array.from(v, (x) => BigInt(Math.trunc(x)))).buffer);
    case 'bool':
      return Uint8Array.from(v, (x) => (x !== 0 ? 1 : 0));
  }
}

function valueInfo(v: ValueDecl): OnnxNs.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[v.dtype],
        shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * Initializers stored outside the protobuf, in a file beside the model (ONNX external data): what
 * models past protobuf's 2 GiB limit need (ESM-2 / ESM-1b 650M: 2.6 GB of float32 weights). ONNX
 * Runtime reads such a model from its path, resolving `location` against the model's directory.
 */
export interface ExternalDataSpec {
  /** File name of the data, relative to the model file's directory (e.g. `model.onnx.data`). */
  readonly location: string;
  /** Initializers of at least this many bytes go to the data file; smaller ones stay inline. */
  readonly minBytes: number;
}

/** The external-data file of a model. */
export interface ExternalData extends ChunkedBytes {
  readonly location: string;
}

/** A serialised model and, when initializers were moved out of it, its external-data file. */
export interface OnnxModelFiles {
  readonly model: Uint8Array;
  readonly data: ExternalData | null;
}

/** A built graph's nodes and initializers, for passes that rewrite them in place (see export/quantize-int8.ts). */
export interface MutableGraph {
  readonly node: OnnxNs.INodeProto[];
  readonly initializer: OnnxNs.ITensorProto[];
  /** Names of the graph's outputs (values a pass must keep). */
  readonly outputs: readonly string[];
}

/** Offsets of external tensors are page-aligned, so ONNX Runtime may map them instead of copying. */
const EXTERNAL_ALIGN = 4096;

/**
 * Accumulates ONNX nodes and initializers while a graph is lowered, then serialises the model.
 * Small constants are deduplicated by value.
 */
export class OnnxGraphBuilder implements LowerCtx {
  readonly symbolic: boolean;
  private readonly nodes: OnnxNs.INodeProto[] = [];
  private readonly inits: OnnxNs.ITensorProto[] = [];
  private readonly constCache = new Map<string, string>();
  private counter = 0;

  /** `namePrefix` keeps value names of nested graphs (loop bodies) apart from their outer graph's. */
  constructor(symbolic = false, private readonly namePrefix = '') {
    this.symbolic = symbolic;
  }

  private fresh(prefix: string): string {
    return `${this.namePrefix}${prefix}${this.counter++}`;
  }

  emit(opType: string, inputs: readonly string[], attrs?: Readonly<Record<string, OnnxAttr>>): string {
    const out = this.fresh('t');
    const attribute = attrs === undefined ? [] : Object.entries(attrs).map(([k, v]) => attrProto(k, v));
    this.nodes.push({ opType, input: [...inputs], output: [out], attribute, name: `${opType}_${out}` });
    return out;
  }

  constant(dtype: DType, values: ArrayLike<number> | BigInt64Array, dims: readonly number[]): string {
    const key = values.length <= 64 ? `${dtype}|${dims.join(',')}|${Array.from(values as ArrayLike<number>).join(',')}` : null;
    const hit = key === null ? undefined : this.constCache.get(key);
    if (hit !== undefined) return hit;
    const name = this.fresh('c');
    this.inits.push({ name, dataType: ONNX_DTYPE[dtype], dims: [...dims], rawData: rawBytes(dtype, values) });
    if (key !== null) this.constCache.set(key, name);
    return name;
  }

  constI64(values: readonly number[], dims?: readonly number[]): string {
    return this.constant('int64', values, dims ?? [values.length]);
  }

  constF32(values: ArrayLike<number>, dims: readonly number[]): string {
    return this.constant('float32', values, dims);
  }

  /**
   * Emits a node with several outputs and a graph-valued attribute (an ONNX `Loop` and its body);
   * returns the output names.
   */
  emitWithGraph(opType: string, inputs: readonly string[], outputs: number, attr: string, graph: OnnxNs.IGraphProto): string[] {
    const out = Array.from({ length: outputs }, () => this.fresh('t'));
    const attribute: OnnxNs.IAttributeProto[] = [{ name: attr, type: onnx.AttributeProto.AttributeType.GRAPH, g: graph }];
    this.nodes.push({ opType, input: [...inputs], output: out, attribute, name: `${opType}_${out[0] ?? ''}` });
    return out;
  }

  /** The nodes and initializers emitted so far, to rewrite in place before building (constants emitted later are not deduplicated against a rewrite's). */
  mutableGraph(outputs: readonly string[]): MutableGraph {
    return { node: this.nodes, initializer: this.inits, outputs };
  }

  /** Renames the most recent node's output if it produced `name` (to name graph outputs directly). */
  renameLastOutput(name: string, to: string): boolean {
    const last = this.nodes[this.nodes.length - 1];
    if (last?.output?.length !== 1 || last.output[0] !== name) return false;
    last.output = [to];
    return true;
  }

  /** The graph built so far with the given inputs and outputs (a model's graph or a loop body). */
  graph(inputs: readonly ValueDecl[], outputs: readonly ValueDecl[], graphName = 'protdistil'): OnnxNs.IGraphProto {
    return { name: graphName, node: this.nodes, initializer: this.inits, input: inputs.map(valueInfo), output: outputs.map(valueInfo) };
  }

  /** Serialises the model with the given graph inputs and outputs. */
  build(inputs: readonly ValueDecl[], outputs: readonly ValueDecl[], graphName = 'protdistil'): Uint8Array {
    return this.buildFiles(inputs, outputs, graphName, null).model;
  }

  /**
   * Serialises the model, first moving initializers of at least `external.minBytes` bytes to an
   * external-data file (their bytes are viewed, not copied). Call once: the initializers change.
   */
  buildFiles(inputs: readonly ValueDecl[], outputs: readonly ValueDecl[], graphName: string, external: ExternalDataSpec | null): OnnxModelFiles {
    let data: ExternalData | null = null;
    if (external !== null) {
      const chunks: { offset: number; bytes: Uint8Array }[] = [];
      let size = 0;
      for (const t of this.inits) {
        const raw = t.rawData;
        if (!(raw instanceof Uint8Array) || raw.byteLength < external.minBytes) continue;
        const offset = Math.ceil(size / EXTERNAL_ALIGN) * EXTERNAL_ALIGN;
        chunks.push({ offset, bytes: raw });
        size = offset + raw.byteLength;
        t.rawData = null;
        t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
        t.externalData = [
          { key: 'location', value: external.location },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(raw.byteLength) },
        ];
      }
      data = { location: external.location, chunks, size };
    }
    const model = onnx.ModelProto.create({
      irVersion: 9,
      producerName: 'protdistil',
      opsetImport: [{ domain: '', version: OPSET }],
      graph: this.graph(inputs, outputs, graphName),
    });
    return { model: onnx.ModelProto.encode(model).finish(), data };
  }
}
