import { join } from 'node:path';
import type { FileEntry } from '../io/atomic-write.js';
import { toJsonText } from '../io/atomic-write.js';
import { safetensorsBytes } from '../io/safetensors.js';
import { hostArray, type HostArray } from '../tensor/host-array.js';
import type { LowRankFactors } from './low-rank-linear.js';
import { lowRankOnnx, ONNX_INPUT, ONNX_OUTPUT } from './onnx-export.js';

/**
 * The files of a saved compressed layer, as entries for one atomic batch write:
 * - `model.safetensors`: `a.weight` (r, in), `b.weight` (out, r), `b.bias` (out), float32;
 * - `config.json`: shapes, the forward formula and how the layer was made;
 * - `model.onnx`: the standalone layer with a symbolic batch dimension (input `x`, output `y`).
 * In PyTorch the tensors load into `nn.Sequential(nn.Linear(in, r, bias=False), nn.Linear(r, out))`
 * after renaming `a.` → `0.` and `b.` → `1.`.
 */
export function studentFiles(dir: string, f: LowRankFactors, info: Readonly<Record<string, unknown>>): FileEntry[] {
  const tensors = new Map<string, HostArray>([
    ['a.weight', hostArray('float32', [f.rank, f.inFeatures], f.a)],
    ['b.weight', hostArray('float32', [f.outFeatures, f.rank], f.b)],
    ['b.bias', hostArray('float32', [f.outFeatures], f.bias)],
  ]);
  const config = {
    architecture: 'LowRankLinear',
    in_features: f.inFeatures,
    out_features: f.outFeatures,
    rank: f.rank,
    bias: true,
    forward: 'y = (x @ a.weight.T) @ b.weight.T + b.bias',
    tensors: Object.fromEntries([...tensors].map(([k, v]) => [k, { dtype: 'float32', shape: [...v.shape] }])),
    parameters: f.a.length + f.b.length + f.bias.length,
    onnx: { file: 'model.onnx', input: ONNX_INPUT, output: ONNX_OUTPUT, dims: 'x: (batch, in_features) -> y: (batch, out_features)' },
    ...info,
  };
  return [
    { path: join(dir, 'model.safetensors'), data: safetensorsBytes(tensors, { format: 'pt', producer: 'protdistil' }) },
    { path: join(dir, 'config.json'), data: toJsonText(config, 'student config') },
    { path: join(dir, 'model.onnx'), data: lowRankOnnx(f) },
  ];
}

/** Kept importable from here for existing callers. */
export { safetensorsBytes } from '../io/safetensors.js';
