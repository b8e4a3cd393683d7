/**
 * Why `label --int8` stores 7-bit weights: one (M, K) × (K, N) product through ONNX Runtime as a
 * float MatMul and as DynamicQuantizeLinear + MatMulInteger with int8 weights at 8 bits (|q| ≤ 127)
 * and at 7 bits (|q| ≤ 63), per-column scales; relative error against the float product and time.
 *   node dist/bench/int8-matmul.js [--shape 2048,1280,5120] [--threads 2]
 * On CPUs without AVX-512 VNNI, ORT's uint8 × int8 kernel adds pairs of products in 16 bits, so
 * 8-bit weights can overflow it; the 7-bit row is the scheme src/export/quantize-int8.ts uses.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { onnx as OnnxNs } from 'onnx-proto';
import { loadOnnx, ortTensor } from '../src/runtime/ort.js';
import { Rng } from '../src/tensor/random.js';
import { machineLine, table } from './peer.js';

const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNs };
const args = process.argv.slice(2);
const flag = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? def) : def;
};
const [M, K, N] = flag('--shape', '2048,1280,5120').split(',').map(Number) as [number, number, number];
const threads = Number(flag('--threads', String(availableParallelism())));
const rng = new Rng(0);
const W = Float32Array.from({ length: K * N }, () => rng.uniform() - 0.5); // (K, N)
const X = Float32Array.from({ length: M * K }, () => rng.uniform() - 0.5); // (M, K)
const bytes = (a: Float32Array | Int8Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const info = (name: string, dims: number[]): OnnxNs.IValueInfoProto => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
const model = (node: OnnxNs.INodeProto[], initializer: OnnxNs.ITensorProto[]): Uint8Array =>
  onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 9, opsetImport: [{ domain: '', version: 20 }], graph: { name: 'g', node, initializer, input: [info('x', [M, K])], output: [info('y', [M, N])] } })).finish();

function quantized(levels: number): Uint8Array {
  const scale = new Float32Array(N);
  const q = new Int8Array(K * N);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(W[k * N + n]!));
    scale[n] = m / levels;
    for (let k = 0; k < K; k++) q[k * N + n] = Math.round(W[k * N + n]! / scale[n]!);
  }
  return model(
    [
      { opType: 'DynamicQuantizeLinear', input: ['x'], output: ['xq', 'sx', 'zx'] },
      { opType: 'MatMulInteger', input: ['xq', 'wq', 'zx'], output: ['yi'] },
      { opType: 'Cast', input: ['yi'], output: ['yf'], attribute: [{ name: 'to', type: 2, i: 1 }] },
      { opType: 'Mul', input: ['sx', 'ws'], output: ['s'] },
      { opType: 'Mul', input: ['yf', 's'], output: ['y'] },
    ],
    [{ name: 'wq', dataType: 3, dims: [K, N], rawData: bytes(q) }, { name: 'ws', dataType: 1, dims: [N], rawData: bytes(scale) }],
  );
}

async function run(m: Uint8Array): Promise<{ ms: number; y: Float32Array }> {
  const session = await loadOnnx(m, { threads, optimization: 'all', memoryArena: false });
  const y = new Float32Array(M * N);
  const feeds = { x: ortTensor('float32', X, [M, K]) };
  const outs = { y: ortTensor('float32', y, [M, N]) };
  await session.run(feeds, outs);
  const ms: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await session.run(feeds, outs);
    ms.push(performance.now() - t0);
  }
  return { ms: ms.sort((a, b) => a - b)[2]!, y };
}

console.log(`int8 matmul — ${new Date().toISOString()} — ${machineLine()}, threads ${threads}, (${M}, ${K}) × (${K}, ${N})`);
const float = await run(model([{ opType: 'MatMul', input: ['x', 'w'], output: ['y'] }], [{ name: 'w', dataType: 1, dims: [K, N], rawData: bytes(W) }]));
const rows: (string | number)[][] = [['float32', float.ms.toFixed(1), '1.00', '-']];
for (const [label, levels] of [['int8, 8-bit weights (|q| ≤ 127)', 127], ['int8, 7-bit weights (|q| ≤ 63)', 63]] as const) {
  const r = await run(quantized(levels));
  let e = 0;
  let n = 0;
  for (let i = 0; i < r.y.length; i++) {
    e += (r.y[i]! - float.y[i]!) ** 2;
    n += float.y[i]! ** 2;
  }
  rows.push([label, r.ms.toFixed(1), (float.ms / r.ms).toFixed(2), Math.sqrt(e / n).toExponential(2)]);
}
console.log(table(['product', 'median ms', 'speed vs float', 'relative error (RMS)'], rows));
