import { noGrad } from '../autograd/mode.js';
import { exportOnnx } from '../export/onnx-export.js';
import { collectGraph } from '../runtime/graph.js';
import { lowerToOnnx } from '../runtime/lower.js';
import { Tensor } from '../tensor/tensor.js';
import { denseForward, type DenseLayer } from './dense-layer.js';
import { lowRankForward, type LowRankFactors } from './low-rank-linear.js';

/**
 * Standalone ONNX models of the layers (weights embedded as initializers, input `x`, output `y`).
 * With a `batch`, every shape is static — what latency is measured on, so ORT can plan memory and
 * pre-pack weights as for a fixed-shape deployment; without one, the batch dimension is symbolic
 * ('batch', through the engine's exporter) — what `--save-student` writes.
 */

/** Input and output names of exported layers. */
export const ONNX_INPUT = 'x';
export const ONNX_OUTPUT = 'y';

/** ONNX bytes of a dense layer y = x·Wᵀ + b. */
export function denseOnnx(l: DenseLayer, batch?: number): Uint8Array {
  return layerOnnx(l.inFeatures, batch, (x) => denseForward(l, x), 'protdistil_dense');
}

/** ONNX bytes of a low-rank layer y = (x·Aᵀ)·Bᵀ + b. */
export function lowRankOnnx(f: LowRankFactors, batch?: number): Uint8Array {
  return layerOnnx(f.inFeatures, batch, (x) => lowRankForward(f, x), 'protdistil_low_rank');
}

function layerOnnx(inFeatures: number, batch: number | undefined, forward: (x: Tensor) => Tensor, graphName: string): Uint8Array {
  if (batch === undefined) {
    return exportOnnx(([x]) => [forward(x as Tensor)], [{ name: ONNX_INPUT, dtype: 'float32', dims: ['batch', inFeatures] }], { outputNames: [ONNX_OUTPUT], graphName });
  }
  const x = Tensor.placeholder([batch, inFeatures], 'float32', ONNX_INPUT);
  const y = noGrad(() => forward(x));
  return lowerToOnnx(collectGraph([y.node]), { graphInputs: [x.node], inputNames: [ONNX_INPUT], outputNames: [ONNX_OUTPUT], graphName });
}
