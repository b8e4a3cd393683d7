import { dirname, join } from 'node:path';
import { configError } from '../../errors.js';
import { exportOnnxFiles } from '../../export/onnx-export.js';
import type { FileEntry } from '../../io/atomic-write.js';
import type { OnnxModelFiles } from '../../runtime/onnx-builder.js';
import { withOnnxMetadata } from '../../runtime/onnx-metadata.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { EsmModel } from './model.js';

/**
 * Exports an ESM model to a standalone ONNX model: input `tokens` int64 (batch, length), outputs
 * `logits` (batch, length, 33) and `representations` (batch, length, E), the final-LN output.
 * Weights are embedded (over 1.5 GB of weights: {@link exportEsmOnnxFiles}); batch and length stay symbolic (up to `maxTokens`, default 1024 — ESM-1b
 * cannot go further). Token dropout and padding follow the ESM spec, so onnxruntime gives the
 * engine's outputs for any right-padded batch. The model's config travels in the ONNX metadata
 * (`protdistil.esm_config`), so `protdistil extract` accepts the file as a model.
 */
export function exportEsmOnnx(model: EsmModel, opts: { maxTokens?: number } = {}): Uint8Array {
  const bytes = model.numParameters() * 4;
  if (bytes > EXTERNAL_DATA_ABOVE_BYTES) throw configError(`exportEsmOnnx: ${(bytes / 2 ** 30).toFixed(2)} GiB of weights do not fit one ONNX protobuf; use exportEsmOnnxFiles (external data)`);
  const files = exportEsmOnnxFiles(model, { ...opts, externalAboveBytes: Infinity });
  return files.model;
}

/** Weight bytes above which an export keeps its weights in an external-data file (protobuf's 2 GiB limit, with headroom). */
export const EXTERNAL_DATA_ABOVE_BYTES = 1.5 * 2 ** 30;

/** File name of an export's external data, beside `model.onnx`. */
export const ONNX_DATA_FILE = 'model.onnx.data';

/**
 * As {@link exportEsmOnnx}, for models of any size: when the weights exceed `externalAboveBytes`
 * (default {@link EXTERNAL_DATA_ABOVE_BYTES}; ESM-1b and ESM-2 650M at 2.6 GB do), every weight
 * tensor of at least 1 KiB goes to an external-data file `dataLocation` beside the model file
 * (ONNX external data; ONNX Runtime finds it when the model is opened from its path).
 */
export function exportEsmOnnxFiles(model: EsmModel, opts: { maxTokens?: number; externalAboveBytes?: number; dataLocation?: string } = {}): OnnxModelFiles {
  model.reserveLength(opts.maxTokens ?? 1024);
  const L = model.config.numLayers;
  const external = model.numParameters() * 4 > (opts.externalAboveBytes ?? EXTERNAL_DATA_ABOVE_BYTES);
  const files = exportOnnxFiles(
    ([tokens]) => {
      const o = model.forward(tokens as Tensor, { reprLayers: [L] });
      return [o.logits, o.representations.get(L) as Tensor];
    },
    [{ name: 'tokens', dtype: 'int64', dims: ['batch', 'length'] }],
    {
      outputNames: ['logits', 'representations'],
      graphName: model.config.arch === 'esm2' ? 'esm2' : 'esm1b',
      ...(external ? { external: { location: opts.dataLocation ?? ONNX_DATA_FILE, minBytes: 1024 } } : {}),
    },
  );
  return { model: withOnnxMetadata(files.model, { [ESM_CONFIG_KEY]: JSON.stringify(model.config) }), data: files.data };
}

/** The files of an export for an atomic batch write: the model at `path`, its external data beside it. */
export function onnxFileEntries(path: string, files: OnnxModelFiles): FileEntry[] {
  const entries: FileEntry[] = [{ path, data: files.model }];
  if (files.data !== null) entries.unshift({ path: join(dirname(path), files.data.location), data: files.data });
  return entries;
}

/** Metadata key holding the exported model's ESM config (JSON), so `extract` can run the file. */
export const ESM_CONFIG_KEY = 'protdistil.esm_config';
