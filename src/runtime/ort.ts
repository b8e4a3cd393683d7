import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type * as OrtNs from 'onnxruntime-node';
import { runtimeError } from '../errors.js';
import type { DataOf, DType } from '../tensor/host-array.js';

// The only place that loads onnxruntime-node (a CommonJS package with a native binding).
const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof OrtNs;

/** Options for ONNX Runtime sessions. */
export interface RuntimeOptions {
  /** Intra-op threads; default: all available cores (or PROTDISTIL_THREADS). */
  readonly threads: number;
  /** ORT graph optimisation level. */
  readonly optimization: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * ORT's CPU memory arena and memory-pattern planning. Off by default: measured on training
   * steps, they raised peak RSS by ~70% with no speed gain (docs/PERFORMANCE.md).
   */
  readonly memoryArena: boolean;
}

/** Defaults, read once from the environment. */
export function defaultRuntimeOptions(): RuntimeOptions {
  const env = Number(process.env.PROTDISTIL_THREADS);
  return { threads: Number.isInteger(env) && env > 0 ? env : availableParallelism(), optimization: 'all', memoryArena: false };
}

const ORT_TYPE: Readonly<Record<DType, 'float32' | 'int32' | 'int64' | 'bool'>> = {
  float32: 'float32', int32: 'int32', int64: 'int64', bool: 'bool',
};

/** An ORT tensor viewing our buffer (no copy). */
export function ortTensor(dtype: DType, data: DataOf[DType], dims: readonly number[]): OrtNs.Tensor {
  return new ort.Tensor(ORT_TYPE[dtype], data as never, [...dims]);
}

/** A loaded ONNX model, ready to run. */
export class OrtSession {
  private constructor(private readonly session: OrtNs.InferenceSession) {}

  /** Creates a session from serialised model bytes. */
  static async create(model: Uint8Array, opts: RuntimeOptions): Promise<OrtSession> {
    return OrtSession.open(model, opts);
  }

  /** A session from a model file; external-data files are found beside it (models past 2 GiB). */
  static async createFromFile(path: string, opts: RuntimeOptions): Promise<OrtSession> {
    return OrtSession.open(path, opts);
  }

  private static async open(model: Uint8Array | string, opts: RuntimeOptions): Promise<OrtSession> {
    try {
      const so: OrtNs.InferenceSession.SessionOptions = {
        intraOpNumThreads: opts.threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: opts.optimization,
        executionMode: 'sequential',
        ...(process.env.PROTDISTIL_ORT_PROFILE === undefined ? {} : { enableProfiling: true, profileFilePrefix: process.env.PROTDISTIL_ORT_PROFILE }),
        enableCpuMemArena: opts.memoryArena,
        enableMemPattern: opts.memoryArena,
      };
      const s = typeof model === 'string' ? await ort.InferenceSession.create(model, so) : await ort.InferenceSession.create(model, so);
      return new OrtSession(s);
    } catch (e) {
      throw runtimeError(`ONNX Runtime could not load the compiled graph: ${(e as Error).message}`, e);
    }
  }

  /** Runs with feeds and pre-allocated outputs (ORT writes into them). */
  async run(feeds: Record<string, OrtNs.Tensor>, outputs: Record<string, OrtNs.Tensor>): Promise<void> {
    try {
      await this.session.run(feeds, outputs);
    } catch (e) {
      throw runtimeError(`ONNX Runtime failed while running a graph: ${(e as Error).message}`, e);
    }
  }

  /** Runs and returns ORT-allocated outputs (for outputs of unknown shape, e.g. exported models). */
  async runAlloc(feeds: Record<string, OrtNs.Tensor>): Promise<Record<string, { dims: readonly number[]; data: unknown }>> {
    try {
      return await this.session.run(feeds);
    } catch (e) {
      throw runtimeError(`ONNX Runtime failed while running a graph: ${(e as Error).message}`, e);
    }
  }

  /** Ends ORT profiling (when enabled with PROTDISTIL_ORT_PROFILE) and writes its JSON file. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }
}

/** Loads an ONNX file from bytes (for exported models); uses default runtime options. */
export async function loadOnnx(model: Uint8Array, opts: RuntimeOptions = defaultRuntimeOptions()): Promise<OrtSession> {
  return OrtSession.create(model, opts);
}
