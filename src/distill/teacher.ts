import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VOCAB_SIZE } from '../data/alphabet.js';
import type { MlmBatch } from '../data/mlm-stream.js';
import { configError, runtimeError } from '../errors.js';
import { exportOnnxFiles } from '../export/onnx-export.js';
import { quantizeMatMulsInt8, type Int8Report } from '../export/quantize-int8.js';
import { writeFilesAtomic } from '../io/atomic-write.js';
import { loadEsm } from '../io/esm/load.js';
import type { EsmModel } from '../models/esm/model.js';
import { EXTERNAL_DATA_ABOVE_BYTES, onnxFileEntries } from '../models/esm/onnx.js';
import type { MutableGraph } from '../runtime/onnx-builder.js';
import { ortTensor, OrtSession } from '../runtime/ort.js';
import { runtimeOptions } from '../runtime/program.js';
import { hostArray, type HostArray } from '../tensor/host-array.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Where a distillation run gets the teacher's logits for a batch: a live model in this process, or
 * (issue: `protdistil label`) a cache of logits computed earlier for the same deterministic masks.
 * `train` only sees this interface. Logits are (B, T, V) for the batch's corrupted tokens; only
 * the masked (target) positions are read by the loss.
 *
 * Dims: B batch, T tokens, V vocab.
 */
export interface TeacherSource {
  /** What the run log and config hash name the teacher by. */
  readonly description: string;
  /** Identifies the teacher's weights (part of the run identity). */
  readonly fingerprint: string;
  readonly vocabSize: number;
  /** (B, T, V) float32 logits of the batch's corrupted tokens. */
  logits(batch: MlmBatch): Promise<HostArray>;
  /** Milliseconds spent computing logits so far. */
  readonly busyMs: number;
}

/** Options of {@link LiveTeacher.fromModel}. */
export interface LiveTeacherOptions {
  /** Export with external data above this many bytes of float32 parameters (default 1.5 GB). */
  readonly externalAboveBytes?: number;
  /**
   * Dynamic int8 quantisation of the matrix products (export/quantize-int8.ts): faster, and not
   * exact; the fingerprint (hence a cache's identity) says so.
   */
  readonly int8?: boolean;
  /** Weights with fewer values stay float (default 1024). */
  readonly int8MinElements?: number;
}

/** What an int8 teacher adds to its weights' fingerprint. */
export const INT8_FINGERPRINT = 'int8-dynamic-w7';

/**
 * A teacher model run as an ONNX Runtime inference session in this process, with its weights as
 * constant initializers, so ORT pre-packs them for its matrix kernels (docs/PERFORMANCE.md).
 * Models too large for one protobuf (over ~1.5 GB of float32, e.g. ESM-1b 650M at 2.6 GB) are
 * exported with their weights as ONNX external data into a temporary directory, opened from
 * there, and the files removed once the session holds the weights.
 */
export class LiveTeacher implements TeacherSource {
  busyMs = 0;

  private constructor(
    readonly description: string,
    readonly fingerprint: string,
    readonly vocabSize: number,
    /** What int8 quantisation changed (null: a float teacher). */
    readonly int8: Int8Report | null,
    private readonly run: (tokens: HostArray<'int64'>) => Promise<HostArray>,
  ) {}

  /** Loads a teacher from a model path (fair-esm .pt, Hugging Face directory, or a `train` output). */
  static async load(path: string, fingerprint: string): Promise<LiveTeacher> {
    let loaded;
    try {
      loaded = loadEsm(path);
    } catch (e) {
      throw configError(`cannot load the teacher ${path}: ${(e as Error).message}`);
    }
    return LiveTeacher.fromModel(loaded.model, `${path} (${loaded.config.arch}, ${loaded.config.numLayers} layers, dim ${loaded.config.embedDim})`, fingerprint);
  }

  /** Wraps a model already in memory. */
  static async fromModel(model: EsmModel, description: string, fingerprint: string, opts: LiveTeacherOptions = {}): Promise<LiveTeacher> {
    if (model.config.vocabSize !== VOCAB_SIZE) {
      throw configError(`the teacher's vocabulary has ${model.config.vocabSize} tokens; students use the ESM alphabet of ${VOCAB_SIZE}: teacher and student must share the alphabet`);
    }
    model.freeze().eval();
    const maxTokens = model.config.arch === 'esm1b' ? model.config.maxPositions : 1026;
    model.reserveLength(maxTokens);
    let int8: Int8Report | null = null;
    const quantize = (g: MutableGraph): void => {
      const r = quantizeMatMulsInt8(g, opts.int8MinElements === undefined ? {} : { minElements: opts.int8MinElements });
      if (r.matmuls === 0) throw configError('int8 teacher: no matrix product has weights large enough to quantise');
      int8 = r;
    };
    const files = exportOnnxFiles(([tokens]) => [model.forward(tokens as Tensor).logits], [{ name: 'tokens', dtype: 'int64', dims: ['batch', 'length'] }], {
      outputNames: ['logits'],
      graphName: 'teacher',
      ...(model.numParameters() * 4 > (opts.externalAboveBytes ?? EXTERNAL_DATA_ABOVE_BYTES) ? { external: { location: 'teacher.onnx.data', minBytes: 1024 } } : {}),
      ...(opts.int8 === true ? { rewrite: quantize } : {}),
    });
    const runtime = { ...runtimeOptions(), memoryArena: true };
    let session: OrtSession;
    if (files.data === null) session = await OrtSession.create(files.model, runtime);
    else {
      const dir = mkdtempSync(join(tmpdir(), 'protdistil-teacher-'));
      try {
        const path = join(dir, 'teacher.onnx');
        writeFilesAtomic(onnxFileEntries(path, files));
        session = await OrtSession.createFromFile(path, runtime);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const desc = int8 === null ? description : `${description}, int8 dynamic (${(int8 as Int8Report).matmuls} products)`;
    return new LiveTeacher(desc, int8 === null ? fingerprint : `${fingerprint}|${INT8_FINGERPRINT}`, model.config.vocabSize, int8, async (tokens) => {
      const out = await session.runAlloc({ tokens: ortTensor('int64', tokens.data, tokens.shape) });
      const z = out.logits;
      if (z === undefined) throw runtimeError('teacher session returned no logits');
      return hostArray('float32', [...z.dims], z.data as Float32Array);
    });
  }

  async logits(batch: MlmBatch): Promise<HostArray> {
    const t0 = performance.now();
    const z = await this.run(batch.tokens);
    this.busyMs += performance.now() - t0;
    return z;
  }
}
