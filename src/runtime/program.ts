import { runtimeError, shapeError } from '../errors.js';
import { allocData, numel, type DataOf, type DType } from '../tensor/host-array.js';
import type { Node } from '../tensor/node.js';
import { fmtShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { collectGraph, graphKey, type PendingGraph } from './graph.js';
import { lowerToOnnx } from './lower.js';
import { defaultRuntimeOptions, ortTensor, OrtSession, type RuntimeOptions } from './ort.js';

/**
 * A compiled graph: a fixed list of input nodes (host data or placeholders) and outputs, lowered
 * once to ONNX and held in an ORT session. `run` feeds buffers and writes outputs into buffers the
 * caller owns, so a training loop allocates nothing per step.
 */
export class Program {
  readonly graph: PendingGraph;
  readonly key: string;
  readonly compileMs: number;
  private readonly session: OrtSession;
  private readonly inNames: string[];
  private readonly outNames: string[];

  private constructor(graph: PendingGraph, key: string, session: OrtSession, compileMs: number) {
    this.graph = graph;
    this.key = key;
    this.session = session;
    this.compileMs = compileMs;
    this.inNames = graph.inputs.map((_, i) => `in${i}`);
    this.outNames = graph.outputs.map((_, i) => `out${i}`);
  }

  /** Input nodes in feed order. */
  get inputs(): readonly Node[] {
    return this.graph.inputs;
  }
  /** Output nodes in fetch order. */
  get outputs(): readonly Node[] {
    return this.graph.outputs;
  }

  /** Compiles the graph behind `outputs` (sessions are shared through `cache` by structural key). */
  static async compile(outputs: readonly Tensor[], opts: RuntimeOptions = runtimeOptions(), cache: SessionCache = defaultCache): Promise<Program> {
    const g = collectGraph(outputs.map((t) => t.node));
    return Program.fromGraph(g, opts, cache);
  }

  /** Compiles an already collected graph. */
  static async fromGraph(g: PendingGraph, opts: RuntimeOptions = runtimeOptions(), cache: SessionCache = defaultCache): Promise<Program> {
    const key = graphKey(g, `t${opts.threads}o${opts.optimization}a${opts.memoryArena ? 1 : 0}`);
    const t0 = performance.now();
    const session = await cache.get(key, () => OrtSession.create(lowerToOnnx(g), opts));
    return new Program(g, key, session, performance.now() - t0);
  }

  /** Allocates one output buffer per output. */
  allocOutputs(): DataOf[DType][] {
    return this.graph.outputs.map((o) => allocData(o.dtype, numel(o.shape)));
  }

  /** Runs with explicit input buffers (in `inputs` order) into explicit output buffers. */
  async run(feeds: readonly DataOf[DType][], outputs: readonly DataOf[DType][]): Promise<void> {
    const f: Record<string, ReturnType<typeof ortTensor>> = {};
    this.graph.inputs.forEach((n, i) => {
      const d = feeds[i];
      if (d === undefined) throw runtimeError(`program input ${i} (${n.dtype} ${fmtShape(n.shape)}) has no data`);
      if (d.length !== numel(n.shape)) throw shapeError('run', `input ${i} needs ${numel(n.shape)} elements for ${fmtShape(n.shape)}, got ${d.length}`);
      f[this.inNames[i] as string] = wrap(n.dtype, d, n.shape);
    });
    const o: Record<string, ReturnType<typeof ortTensor>> = {};
    this.graph.outputs.forEach((n, i) => {
      o[this.outNames[i] as string] = wrap(n.dtype, outputs[i] as DataOf[DType], n.shape);
    });
    await this.session.run(f, o);
  }

  /** Runs feeding each input node its current data (`realized`) and returns fresh outputs. */
  async runWithNodeData(): Promise<DataOf[DType][]> {
    const feeds = this.graph.inputs.map((n) => {
      if (n.realized === null) throw runtimeError(`placeholder input (${n.dtype} ${fmtShape(n.shape)}) has no data: feed it through Program.run`);
      return n.realized;
    });
    const outs = this.allocOutputs();
    await this.run(feeds, outs);
    return outs;
  }
}

/**
 * ORT tensor wrappers cached per buffer: training loops feed the same parameter, state and batch
 * buffers every step, and re-creating wrappers each run only feeds the garbage collector.
 */
const wrappers = new WeakMap<object, { key: string; t: ReturnType<typeof ortTensor> }>();
function wrap(dtype: DType, data: DataOf[DType], dims: readonly number[]): ReturnType<typeof ortTensor> {
  const key = `${dtype}[${dims.join(',')}]`;
  const hit = wrappers.get(data);
  if (hit !== undefined && hit.key === key) return hit.t;
  const t = ortTensor(dtype, data, dims);
  wrappers.set(data, { key, t });
  return t;
}

/** Sessions keyed by graph structure; creation is shared by concurrent requests. */
export class SessionCache {
  private readonly map = new Map<string, Promise<OrtSession>>();
  /** Number of distinct compiled graphs. */
  get size(): number {
    return this.map.size;
  }
  get(key: string, make: () => Promise<OrtSession>): Promise<OrtSession> {
    let p = this.map.get(key);
    if (p === undefined) {
      p = make();
      this.map.set(key, p);
      p.catch(() => this.map.delete(key));
    }
    return p;
  }
  clear(): void {
    this.map.clear();
  }
  /** Flushes ORT profiles of every session (diagnostics: set PROTDISTIL_ORT_PROFILE=prefix). */
  async endProfiling(): Promise<void> {
    for (const p of this.map.values()) (await p).endProfiling();
  }
}

const defaultCache = new SessionCache();
let currentOptions: RuntimeOptions | null = null;

/** The runtime options used by `realize` and `Program.compile` unless given explicitly. */
export function runtimeOptions(): RuntimeOptions {
  currentOptions ??= defaultRuntimeOptions();
  return currentOptions;
}

/** Changes the default runtime options (e.g. `--threads`); compiled sessions are kept per option set. */
export function configureRuntime(opts: Partial<RuntimeOptions>): void {
  currentOptions = { ...runtimeOptions(), ...opts };
}

/** The shared session cache (exposed for statistics and tests). */
export function sessionCache(): SessionCache {
  return defaultCache;
}
