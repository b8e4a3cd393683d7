import { createRequire } from 'node:module';
import type { onnx as OnnxNs } from 'onnx-proto';
import { checkpointError } from '../errors.js';

// onnx-proto ships CommonJS; load it through require so its generated classes resolve.
const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNs };

/**
 * ONNX `metadata_props` (string key/value pairs in the ModelProto): how an exported model carries
 * what a loader needs beyond the graph (e.g. the ESM config of an exported model).
 */

/** Returns the model bytes with `props` added to its metadata (existing keys are replaced). */
export function withOnnxMetadata(model: Uint8Array, props: Readonly<Record<string, string>>): Uint8Array {
  const m = onnx.ModelProto.decode(model);
  const kept = (m.metadataProps ?? []).filter((p) => p.key === null || p.key === undefined || !(p.key in props));
  m.metadataProps = [...kept, ...Object.entries(props).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }))];
  return onnx.ModelProto.encode(m).finish();
}

/** The metadata of ONNX model bytes; a file that is not an ONNX model is a checkpoint error naming `what`. */
export function readOnnxMetadata(model: Uint8Array, what: string): Map<string, string> {
  let m: OnnxNs.ModelProto;
  try {
    m = onnx.ModelProto.decode(model);
  } catch (e) {
    throw checkpointError(`${what}: not an ONNX model (${(e as Error).message})`, e);
  }
  return new Map((m.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
}
