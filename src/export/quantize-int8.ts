import type { onnx as OnnxNs } from 'onnx-proto';
import { configError } from '../errors.js';
import type { MutableGraph } from '../runtime/onnx-builder.js';

/**
 * Dynamic int8 quantisation of an ONNX graph's matrix products with constant weights, as ONNX
 * Runtime's `quantize_dynamic` does it, written here so that no Python tool is needed: every
 * `MatMul(X, W)` whose W is a float32 initializer (or a `Transpose` of one, as `Linear` lowers) of
 * at least `minElements` values becomes
 *
 *   DynamicQuantizeLinear(X) -> (Xq uint8, sx, zx)         per tensor, per run
 *   MatMulInteger(Xq, Wq, zx) -> int32                     Wq int8 (K, N), zero point 0
 *   Cast(float) · (sx · sw)                                sw (N): one scale per output column
 *
 * which ONNX Runtime fuses into one integer GEMM with a float epilogue. Weights use 7 bits
 * (|Wq| ≤ 63): on CPUs without VNNI, ONNX Runtime's uint8 × int8 kernel adds pairs of products in
 * 16 bits, and 255 · 127 · 2 overflows it (bench/int8-matmul.ts: full-range int8 weights gave 18 % relative error on an
 * AVX2 machine; 7 bits give < 1 %), the "reduce_range" setting of ONNX Runtime's own quantiser.
 * Activations are quantised over the whole input tensor of each run, so results depend (slightly)
 * on what else is in the batch, padding included. Float weights no node reads any more are dropped.
 *
 * Dims: K inner (input features), N output features.
 */

/** Largest magnitude of a quantised weight (7 bits; see above). */
export const INT8_WEIGHT_LEVELS = 63;

/** Options of {@link quantizeMatMulsInt8}. */
export interface Int8Options {
  /** Weights with fewer values stay float (default 1024: tiny products gain nothing). */
  readonly minElements?: number;
}

/** What {@link quantizeMatMulsInt8} changed. */
export interface Int8Report {
  /** MatMul nodes rewritten. */
  readonly matmuls: number;
  /** Distinct weights quantised. */
  readonly weights: number;
  /** Bytes of the float weights replaced, and of their int8 values plus scales. */
  readonly floatBytes: number;
  readonly int8Bytes: number;
}

/** Int8 values and per-column scales of a weight. */
export interface QuantizedWeight {
  /** (K, N) row-major, |q| ≤ {@link INT8_WEIGHT_LEVELS}. */
  readonly q: Int8Array;
  /** (N): W[k, n] ≈ q[k, n] · scale[n]. */
  readonly scale: Float32Array;
}

/**
 * Symmetric per-column quantisation of W (K, N). With `transposed`, `w` holds Wᵀ (N, K) row-major
 * (a `Linear` weight, out × in). A column of zeros gets scale 1 and zero values.
 */
export function quantizeWeightInt8(w: Float32Array, k: number, n: number, transposed = false): QuantizedWeight {
  if (w.length !== k * n) throw configError(`quantizeWeightInt8: ${w.length} values for a ${k} x ${n} weight`);
  const at = transposed ? (r: number, c: number): number => w[c * k + r] as number : (r: number, c: number): number => w[r * n + c] as number;
  const scale = new Float32Array(n);
  const q = new Int8Array(k * n);
  for (let c = 0; c < n; c++) {
    let m = 0;
    for (let r = 0; r < k; r++) m = Math.max(m, Math.abs(at(r, c)));
    if (!Number.isFinite(m)) throw configError(`quantizeWeightInt8: column ${c} holds a non-finite weight`);
    const s = m > 0 ? m / INT8_WEIGHT_LEVELS : 1;
    scale[c] = s;
    for (let r = 0; r < k; r++) q[r * n + c] = Math.max(-INT8_WEIGHT_LEVELS, Math.min(INT8_WEIGHT_LEVELS, Math.round(at(r, c) / s)));
  }
  return { q, scale };
}

/** ONNX TensorProto data types and the AttributeProto type of an integer attribute. */
const FLOAT = 1;
const INT8 = 3;
const ATTR_INT = 2;

function floatValues(t: OnnxNs.ITensorProto): Float32Array | null {
  const raw = t.rawData;
  if (t.dataType !== FLOAT || !(raw instanceof Uint8Array)) return null;
  const n = raw.byteLength / 4;
  // Views need 4-byte alignment; protobuf-decoded bytes may not have it.
  return raw.byteOffset % 4 === 0 ? new Float32Array(raw.buffer, raw.byteOffset, n) : new Float32Array(raw.slice().buffer);
}

const bytesOf = (a: Int8Array | Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The 2-D weight a MatMul's second input reads: an initializer, or a [1, 0] Transpose of one. */
function weightSource(name: string, inits: ReadonlyMap<string, OnnxNs.ITensorProto>, producer: ReadonlyMap<string, OnnxNs.INodeProto>): { init: OnnxNs.ITensorProto; transposed: boolean } | null {
  const direct = inits.get(name);
  if (direct !== undefined) return direct.dims?.length === 2 ? { init: direct, transposed: false } : null;
  const p = producer.get(name);
  if (p?.opType !== 'Transpose' || p.input?.length !== 1) return null;
  const perm = p.attribute?.find((a) => a.name === 'perm')?.ints?.map(Number);
  if (perm === undefined || perm.length !== 2 || perm[0] !== 1 || perm[1] !== 0) return null;
  const init = inits.get(p.input[0] as string);
  return init?.dims?.length === 2 ? { init, transposed: true } : null;
}

/** Rewrites the graph's eligible MatMuls to dynamic int8 (see the file comment); returns what changed. */
export function quantizeMatMulsInt8(g: MutableGraph, o: Int8Options = {}): Int8Report {
  const minElements = o.minElements ?? 1024;
  const inits = new Map(g.initializer.map((t) => [t.name as string, t]));
  const producer = new Map<string, OnnxNs.INodeProto>();
  for (const nd of g.node) for (const out of nd.output ?? []) producer.set(out, nd);
  const done = new Map<string, { q: string; scale: string }>();
  const out: OnnxNs.INodeProto[] = [];
  let matmuls = 0;
  let floatBytes = 0;
  let int8Bytes = 0;
  let fresh = 0;
  const name = (base: string): string => `${base}_q8_${fresh++}`;
  for (const nd of g.node) {
    const src = nd.opType === 'MatMul' && nd.input?.length === 2 ? weightSource(nd.input[1] as string, inits, producer) : null;
    const values = src === null ? null : floatValues(src.init);
    if (src === null || values === null || values.length < minElements) {
      out.push(nd);
      continue;
    }
    const [d0, d1] = (src.init.dims ?? []).map(Number) as [number, number];
    const [k, n] = src.transposed ? [d1, d0] : [d0, d1]; // W (K, N)
    const key = `${src.init.name as string}|${src.transposed}`;
    let w = done.get(key);
    if (w === undefined) {
      const qw = quantizeWeightInt8(values, k, n, src.transposed);
      w = { q: name(`${src.init.name as string}_w`), scale: name(`${src.init.name as string}_scale`) };
      g.initializer.push({ name: w.q, dataType: INT8, dims: [k, n], rawData: bytesOf(qw.q) });
      g.initializer.push({ name: w.scale, dataType: FLOAT, dims: [n], rawData: bytesOf(qw.scale) });
      done.set(key, w);
      floatBytes += values.byteLength;
      int8Bytes += qw.q.byteLength + qw.scale.byteLength;
    }
    const x = nd.input?.[0] as string;
    const y = nd.output?.[0] as string;
    const [xq, sx, zx, yi, yf, s] = ['xq', 'sx', 'zx', 'yi', 'yf', 's'].map(name) as [string, string, string, string, string, string];
    out.push(
      { opType: 'DynamicQuantizeLinear', input: [x], output: [xq, sx, zx], name: name('DynamicQuantizeLinear') },
      { opType: 'MatMulInteger', input: [xq, w.q, zx], output: [yi], name: name('MatMulInteger') }, // (…, N) int32
      { opType: 'Cast', input: [yi], output: [yf], attribute: [{ name: 'to', type: ATTR_INT, i: FLOAT }], name: name('Cast') },
      { opType: 'Mul', input: [sx, w.scale], output: [s], name: name('Mul') }, // (N)
      { opType: 'Mul', input: [yf, s], output: [y], name: name('Mul') },
    );
    matmuls++;
  }
  g.node.splice(0, g.node.length, ...out);
  dropUnread(g);
  return { matmuls, weights: done.size, floatBytes, int8Bytes };
}

/** Removes Transposes of initializers and initializers that neither a node nor the graph's outputs read any more. */
function dropUnread(g: MutableGraph): void {
  const reads = (): Set<string> => new Set([...g.node.flatMap((nd) => nd.input ?? []), ...g.outputs]);
  let read = reads();
  const initNames = new Set(g.initializer.map((t) => t.name as string));
  const dead = (nd: OnnxNs.INodeProto): boolean => nd.opType === 'Transpose' && initNames.has(nd.input?.[0] as string) && !(nd.output ?? []).some((o) => read.has(o));
  if (g.node.some(dead)) {
    g.node.splice(0, g.node.length, ...g.node.filter((nd) => !dead(nd)));
    read = reads();
  }
  g.initializer.splice(0, g.initializer.length, ...g.initializer.filter((t) => read.has(t.name as string)));
}
