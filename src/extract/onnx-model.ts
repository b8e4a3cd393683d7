import { readFileSync } from 'node:fs';
import { checkpointError, configError, ioError, runtimeError, shapeError } from '../errors.js';
import { parseEsmConfig, type EsmConfig } from '../models/esm/config.js';
import { ESM_CONFIG_KEY } from '../models/esm/onnx.js';
import { readOnnxMetadata } from '../runtime/onnx-metadata.js';
import { ortTensor, OrtSession } from '../runtime/ort.js';
import { runtimeOptions } from '../runtime/program.js';
import type { DataOf, DType, HostArray } from '../tensor/host-array.js';
import { fmtShape } from '../tensor/shape.js';
import type { ForwardOutputsSpec, ForwardResult } from './forward-session.js';

/**
 * An ESM model exported by protdistil (`exportEsmOnnx`, the `model.onnx` of `train` outputs) run
 * as a standalone ONNX Runtime session: tokens (batch, length) -> logits and the final layer's
 * representations. Extraction from it gives the same results as from the `.pt` or Hugging Face
 * form, for what the file holds: the final layer (L, or -1) and logits; other layers and contacts
 * need the checkpoint.
 *
 * Dims: B batch, T tokens, E embed, V vocab.
 */
export class OnnxEsmModel {
  /** Marks the export-backed model (the pipeline checks this, not the class). */
  readonly kind = 'onnx';
  /** Exports carry no contact head. */
  readonly contactHead = null;

  private constructor(readonly path: string, readonly config: EsmConfig) {}

  /** Reads an exported model; a file without protdistil's ESM metadata is a checkpoint error. */
  static load(path: string): OnnxEsmModel {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw ioError(`model ${path} not found or unreadable: ${(e as Error).message}`, e);
    }
    const meta = readOnnxMetadata(bytes, path).get(ESM_CONFIG_KEY);
    if (meta === undefined) throw checkpointError(`${path}: an ONNX model without protdistil's ESM config metadata (${ESM_CONFIG_KEY}); extract runs ONNX files written by protdistil (train's model.onnx)`);
    let config: EsmConfig;
    try {
      config = parseEsmConfig(JSON.parse(meta));
    } catch (e) {
      throw checkpointError(`${path}: bad ${ESM_CONFIG_KEY} metadata: ${(e as Error).message}`, e);
    }
    return new OnnxEsmModel(path, config);
  }

  /** A session computing what `spec` asks (only the final layer and logits are available). */
  async session(spec: ForwardOutputsSpec): Promise<{ run: (tokens: HostArray) => Promise<ForwardResult>; compileMs: number }> {
    const L = this.config.numLayers;
    const other = spec.reprLayers.filter((l) => l !== L);
    if (other.length > 0) throw configError(`${this.path}: an ONNX export holds only the final layer's representations (layer ${L}, or -1); layers ${other.join(', ')} need the .pt or Hugging Face form`);
    if (spec.contacts) throw configError(`${this.path}: an ONNX export has no contact head; use the .pt or Hugging Face form for contacts`);
    const t0 = performance.now();
    // From the path, so an external-data file beside the model (models over 1.5 GB) is found.
    const session = await OrtSession.createFromFile(this.path, { ...runtimeOptions(), memoryArena: true });
    const compileMs = performance.now() - t0;
    const run = async (tokens: HostArray): Promise<ForwardResult> => {
      if (tokens.dtype !== 'int64' || tokens.shape.length !== 2) throw shapeError('OnnxEsmModel.run', `tokens must be an int64 (B, T) matrix, got ${tokens.dtype} ${fmtShape(tokens.shape)}`);
      const out = await session.runAlloc({ tokens: ortTensor('int64', tokens.data, tokens.shape) });
      const get = (name: string): HostArray => {
        const v = out[name];
        if (v === undefined) throw runtimeError(`${this.path}: the ONNX model has no '${name}' output`);
        return { dtype: 'float32', shape: [...v.dims], data: v.data as DataOf[DType] } as HostArray;
      };
      const representations = new Map<number, HostArray>();
      if (spec.reprLayers.includes(L)) representations.set(L, get('representations'));
      return { representations, logits: spec.logits ? get('logits') : null, contacts: null };
    };
    return { run, compileMs };
  }
}

/** True for an export-backed model. */
export function isOnnxEsmModel(m: unknown): m is OnnxEsmModel {
  return m instanceof OnnxEsmModel;
}
