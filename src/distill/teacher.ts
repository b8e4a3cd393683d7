import { VOCAB_SIZE } from '../data/alphabet.js';
import type { MlmBatch } from '../data/mlm-stream.js';
import { configError, runtimeError } from '../errors.js';
import { exportOnnx } from '../export/onnx-export.js';
import { EsmForwardSession } from '../extract/forward-session.js';
import { loadEsm } from '../io/esm/load.js';
import type { EsmModel } from '../models/esm/model.js';
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

/** Parameter bytes above which a teacher's weights cannot be embedded in one ONNX protobuf (2 GiB limit, with headroom). */
const EMBED_LIMIT_BYTES = 1.5 * 2 ** 30;

/**
 * A teacher model run as an ONNX Runtime inference session in this process. Weights are embedded
 * as constant initializers, so ORT pre-packs them for its matrix kernels (docs/PERFORMANCE.md);
 * models too large for one protobuf (over ~1.5 GB of float32, e.g. ESM-1b 650M at 2.6 GB) run as
 * a session that reads the weights from their buffers instead.
 */
export class LiveTeacher implements TeacherSource {
  busyMs = 0;

  private constructor(
    readonly description: string,
    readonly fingerprint: string,
    readonly vocabSize: number,
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
  static async fromModel(model: EsmModel, description: string, fingerprint: string): Promise<LiveTeacher> {
    if (model.config.vocabSize !== VOCAB_SIZE) {
      throw configError(`the teacher's vocabulary has ${model.config.vocabSize} tokens; students use the ESM alphabet of ${VOCAB_SIZE}: teacher and student must share the alphabet`);
    }
    model.freeze().eval();
    const maxTokens = model.config.arch === 'esm1b' ? model.config.maxPositions : 1026;
    if (model.numParameters() * 4 <= EMBED_LIMIT_BYTES) {
      model.reserveLength(maxTokens);
      const bytes = exportOnnx(([tokens]) => [model.forward(tokens as Tensor).logits], [{ name: 'tokens', dtype: 'int64', dims: ['batch', 'length'] }], { outputNames: ['logits'], graphName: 'teacher' });
      const session = await OrtSession.create(bytes, { ...runtimeOptions(), memoryArena: true });
      return new LiveTeacher(description, fingerprint, model.config.vocabSize, async (tokens) => {
        const out = await session.runAlloc({ tokens: ortTensor('int64', tokens.data, tokens.shape) });
        const z = out.logits;
        if (z === undefined) throw runtimeError('teacher session returned no logits');
        return hostArray('float32', [...z.dims], z.data as Float32Array);
      });
    }
    const session = await EsmForwardSession.create(model, { reprLayers: [], logits: true, contacts: false }, { maxTokens });
    return new LiveTeacher(description, fingerprint, model.config.vocabSize, async (tokens) => {
      const r = await session.run(tokens);
      if (r.logits === null) throw runtimeError('teacher session returned no logits');
      return r.logits;
    });
  }

  async logits(batch: MlmBatch): Promise<HostArray> {
    const t0 = performance.now();
    const z = await this.run(batch.tokens);
    this.busyMs += performance.now() - t0;
    return z;
  }
}
