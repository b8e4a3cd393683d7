import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import type { onnx as OnnxNs } from 'onnx-proto';
import { INT8_FINGERPRINT, LiveTeacher } from '../../src/distill/teacher.js';
import { isProtdistilError } from '../../src/errors.js';
import { exportOnnx } from '../../src/export/onnx-export.js';
import { INT8_WEIGHT_LEVELS, quantizeMatMulsInt8, quantizeWeightInt8, type Int8Report } from '../../src/export/quantize-int8.js';
import { parseEsmConfig } from '../../src/models/esm/config.js';
import { createEsmModel } from '../../src/models/esm/model.js';
import { Linear } from '../../src/nn/linear.js';
import { loadOnnx, ortTensor } from '../../src/runtime/ort.js';
import { runtimeOptions } from '../../src/runtime/program.js';
import { hostArray } from '../../src/tensor/host-array.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';

const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNs };

describe('quantizeWeightInt8', () => {
  const k = 9;
  const n = 6;
  const rng = new Rng(3);
  const w = Float32Array.from({ length: k * n }, (_, i) => (i % n === 4 ? 0 : rng.normal() * (1 + (i % n))));
  const { q, scale } = quantizeWeightInt8(w, k, n);

  it('uses 7 bits per column, the largest magnitude at the top level, and rounds to the nearest level', () => {
    for (let c = 0; c < n; c++) {
      let top = 0;
      for (let r = 0; r < k; r++) {
        const v = q[r * n + c] as number;
        assert.ok(Math.abs(v) <= INT8_WEIGHT_LEVELS);
        top = Math.max(top, Math.abs(v));
        assert.ok(Math.abs((w[r * n + c] as number) - v * (scale[c] as number)) <= (scale[c] as number) / 2 + 1e-6, `W[${r}, ${c}]`);
      }
      assert.equal(top, c === 4 ? 0 : INT8_WEIGHT_LEVELS, `column ${c}`);
    }
    assert.equal(scale[4], 1, 'a zero column keeps a finite scale');
  });

  it('reads a transposed (out × in) weight as the same matrix', () => {
    const wt = new Float32Array(k * n);
    for (let r = 0; r < k; r++) for (let c = 0; c < n; c++) wt[c * k + r] = w[r * n + c] as number;
    const t = quantizeWeightInt8(wt, k, n, true);
    assert.deepEqual(t.q, q);
    assert.deepEqual(t.scale, scale);
  });

  it('rejects non-finite weights and wrong sizes', () => {
    assert.throws(() => quantizeWeightInt8(Float32Array.of(1, Number.NaN), 2, 1), (e: unknown) => isProtdistilError(e, 'config'));
    assert.throws(() => quantizeWeightInt8(new Float32Array(5), 2, 3), (e: unknown) => isProtdistilError(e, 'config'));
  });
});

/** ONNX's DynamicQuantizeLinear, written from the operator's definition (round half to even). */
function dynamicQuantize(x: Float32Array): { q: Uint8Array; scale: number; zero: number } {
  const f = Math.fround;
  const rint = (v: number): number => {
    const r = Math.round(v);
    return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  let lo = 0;
  let hi = 0;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const scale = f(f(hi - lo) / 255);
  const zero = Math.max(0, Math.min(255, rint(f(-lo / scale))));
  return { q: Uint8Array.from(x, (v) => Math.max(0, Math.min(255, rint(f(v / scale)) + zero))), scale, zero };
}

const decode = (bytes: Uint8Array): OnnxNs.ModelProto => onnx.ModelProto.decode(bytes);
const ops = (m: OnnxNs.ModelProto): string[] => m.graph?.node?.map((nd) => nd.opType as string) ?? [];

async function run(model: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await loadOnnx(model, runtimeOptions());
  const out = await session.runAlloc({ x: ortTensor('float32', x, dims) });
  return out.y?.data as Float32Array;
}

describe('quantizeMatMulsInt8', () => {
  const [rows, inF, outF] = [11, 48, 40];
  const lin = new Linear(inF, outF, { rng: new Rng(8) });
  const rng = new Rng(9);
  const x = Float32Array.from({ length: rows * inF }, () => rng.normal() + 0.3);
  let report: Int8Report | null = null;
  const exportLinear = (minElements?: number): Uint8Array =>
    exportOnnx(([t]) => [lin.forward(t as Tensor)], [{ name: 'x', dtype: 'float32', dims: ['rows', inF] }], {
      outputNames: ['y'],
      rewrite: (g) => (report = quantizeMatMulsInt8(g, minElements === undefined ? {} : { minElements })),
    });

  it('runs a Linear as DynamicQuantizeLinear + MatMulInteger and matches the integer arithmetic of the ONNX definitions', async () => {
    const model = exportLinear();
    assert.deepEqual(report, { matmuls: 1, weights: 1, floatBytes: 4 * inF * outF, int8Bytes: inF * outF + 4 * outF });
    const m = decode(model);
    assert.deepEqual(ops(m).filter((o) => o !== 'Add'), ['DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul', 'Mul']);
    // The float weight and its Transpose are gone; int8 values and float scales remain.
    assert.deepEqual(m.graph?.initializer?.map((t) => [t.dataType, t.dims?.map(Number)]).sort(), [[1, [outF]], [1, [outF]], [3, [inF, outF]]].sort());

    const y = await run(model, x, [rows, inF]);
    const wt = lin.weight.node.realized as Float32Array; // (out, in)
    const bias = lin.bias?.node.realized as Float32Array;
    const { q: wq, scale: ws } = quantizeWeightInt8(wt, inF, outF, true);
    const xq = dynamicQuantize(x);
    let worst = 0;
    let errQ = 0;
    let norm = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < outF; c++) {
        let acc = 0;
        let exact = 0;
        for (let i = 0; i < inF; i++) {
          acc += ((xq.q[r * inF + i] as number) - xq.zero) * (wq[i * outF + c] as number);
          exact += (x[r * inF + i] as number) * (wt[c * inF + i] as number);
        }
        const ref = acc * xq.scale * (ws[c] as number) + (bias[c] as number);
        const got = y[r * outF + c] as number;
        worst = Math.max(worst, Math.abs(got - ref) / Math.max(1, Math.abs(ref)));
        errQ += (got - exact - (bias[c] as number)) ** 2;
        norm += exact ** 2;
      }
    }
    assert.ok(worst < 1e-5, `int8 product differs from the integer reference by ${worst}`);
    const rel = Math.sqrt(errQ / norm);
    assert.ok(rel > 1e-4 && rel < 0.02, `relative error against the float product ${rel}`);
  });

  it('leaves products with small weights as they are', async () => {
    const model = exportLinear(inF * outF + 1);
    assert.equal(report!.matmuls, 0);
    assert.ok(ops(decode(model)).includes('MatMul'));
    assert.ok(!ops(decode(model)).includes('MatMulInteger'));
  });

  it('keeps a float weight that another node still reads (a tied embedding)', () => {
    const emb = Tensor.constant(Array.from({ length: 64 * 32 }, (_, i) => Math.sin(i)), [64, 32], 'float32');
    const model = exportOnnx(([ids]) => [emb.gather(ids as Tensor, 0).matmul(emb.mT)], [{ name: 'ids', dtype: 'int64', dims: ['n'] }], {
      outputNames: ['y'],
      rewrite: (g) => (report = quantizeMatMulsInt8(g)),
    });
    assert.equal(report!.matmuls, 1);
    const types = decode(model).graph?.initializer?.map((t) => t.dataType) ?? [];
    assert.ok(types.includes(3) && types.filter((t) => t === 1).length >= 2, `initializer types ${types.join(',')}`);
    assert.ok(!ops(decode(model)).includes('Transpose'));
  });
});

describe('LiveTeacher with int8', () => {
  const cfg = parseEsmConfig({ arch: 'esm2', numLayers: 2, embedDim: 32, attentionHeads: 4, ffnDim: 64, tokenDropout: true });
  const b = 3;
  const t = 21;
  const rng = new Rng(4);
  const toks = new BigInt64Array(b * t);
  for (let i = 0; i < b * t; i++) toks[i] = i % t === 0 ? 0n : i % t === t - 1 ? 2n : BigInt(rng.uniform() < 0.15 ? 32 : 4 + rng.int(20));
  const batch = { tokens: hostArray('int64', [b, t], toks) } as Parameters<LiveTeacher['logits']>[0];

  it('quantises every layer product, says so in its fingerprint, and stays close to the float teacher', async () => {
    const f = await LiveTeacher.fromModel(createEsmModel(cfg, new Rng(2)), 'tiny', 'abc');
    const q = await LiveTeacher.fromModel(createEsmModel(cfg, new Rng(2)), 'tiny', 'abc', { int8: true });
    assert.equal(f.int8, null);
    // q, k, v, out, fc1, fc2 per layer, the LM head's dense and its output projection (33 × 32).
    assert.equal(q.int8?.matmuls, 6 * cfg.numLayers + 2);
    assert.equal(q.fingerprint, `abc|${INT8_FINGERPRINT}`);
    assert.match(q.description, /int8 dynamic \(14 products\)/);
    const zf = (await f.logits(batch)).data as Float32Array;
    const zq = (await q.logits(batch)).data as Float32Array;
    const V = cfg.vocabSize;
    let kl = 0;
    let differ = 0;
    for (let p = 0; p < b * t; p++) {
      const logp = (z: Float32Array): number[] => {
        const row = Array.from(z.subarray(p * V, (p + 1) * V));
        const m = Math.max(...row);
        const lse = Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) + m;
        return row.map((v) => v - lse);
      };
      const a = logp(zf);
      const c = logp(zq);
      kl += a.reduce((s, v, i) => s + Math.exp(v) * (v - (c[i] as number)), 0);
      for (let v = 0; v < V; v++) if (zf[p * V + v] !== zq[p * V + v]) differ++;
    }
    kl /= b * t;
    assert.ok(differ > 0, 'int8 logits differ from float ones');
    assert.ok(kl < 5e-3, `mean KL(float ‖ int8) ${kl}`);
  });

  it('refuses a model with nothing to quantise', async () => {
    await assert.rejects(LiveTeacher.fromModel(createEsmModel(cfg, new Rng(2)), 'tiny', 'abc', { int8: true, int8MinElements: 1e9 }), (e: unknown) => isProtdistilError(e, 'config'));
  });
});
