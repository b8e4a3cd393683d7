import { withConcurrentMarking } from '../runtime/gc-mode.js';
import { runtimeOptions } from '../runtime/program.js';
import { loadOnnx, ortTensor } from '../runtime/ort.js';
import type { Rng } from '../tensor/random.js';
import type { DenseLayer } from './dense-layer.js';
import type { LowRankFactors } from './low-rank-linear.js';
import { median } from './metrics.js';
import { denseOnnx, lowRankOnnx, ONNX_INPUT, ONNX_OUTPUT } from './onnx-export.js';

/**
 * Inference latency on ONNX Runtime: each layer is exported as a standalone ONNX model with a
 * fixed batch (weights as initializers, so ORT can pre-pack them as in deployment), loaded with
 * the session options of every other graph (threads from --threads), and `run` is timed with
 * pre-allocated input and output buffers: `warmup` untimed runs, then the median of `repeats`
 * timed ones, under V8's default garbage-collector settings (see runtime/gc-mode.ts). Latency
 * depends on shapes only (dense GEMMs do not look at values), so callers may reuse a measurement
 * for layers of the same shape.
 */
export interface LatencyOptions {
  readonly repeats: number;
  readonly warmup: number;
  readonly rng: Rng;
}

/** Median milliseconds per forward of a model at one batch size, and the spread. */
export interface Timing {
  readonly batch: number;
  readonly medianMs: number;
  readonly p10Ms: number;
  readonly p90Ms: number;
  readonly repeats: number;
}

/** Times a dense layer's forward. */
export async function timeDense(l: DenseLayer, batch: number, o: LatencyOptions): Promise<Timing> {
  return timeModel(denseOnnx(l, batch), batch, l.inFeatures, l.outFeatures, o);
}

/** Times a low-rank layer's forward. */
export async function timeLowRank(f: LowRankFactors, batch: number, o: LatencyOptions): Promise<Timing> {
  return timeModel(lowRankOnnx(f, batch), batch, f.inFeatures, f.outFeatures, o);
}

async function timeModel(model: Uint8Array, batch: number, inDim: number, outDim: number, o: LatencyOptions): Promise<Timing> {
  return withConcurrentMarking(() => timeRuns(model, batch, inDim, outDim, o));
}

async function timeRuns(model: Uint8Array, batch: number, inDim: number, outDim: number, o: LatencyOptions): Promise<Timing> {
  const session = await loadOnnx(model, runtimeOptions());
  const x = o.rng.normalArray(batch * inDim);
  const y = new Float32Array(batch * outDim);
  const feeds = { [ONNX_INPUT]: ortTensor('float32', x, [batch, inDim]) };
  const outs = { [ONNX_OUTPUT]: ortTensor('float32', y, [batch, outDim]) };
  for (let i = 0; i < o.warmup; i++) await session.run(feeds, outs);
  const ms: number[] = [];
  for (let i = 0; i < o.repeats; i++) {
    const t0 = performance.now();
    await session.run(feeds, outs);
    ms.push(performance.now() - t0);
  }
  const sorted = [...ms].sort((a, b) => a - b);
  const pick = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { batch, medianMs: median(ms), p10Ms: pick(0.1), p90Ms: pick(0.9), repeats: o.repeats };
}
