import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SafetensorsReader } from '../../src/io/safetensors.js';
import { writeFilesAtomic } from '../../src/io/atomic-write.js';
import { loadOnnx, ortTensor } from '../../src/runtime/ort.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { denseForward } from '../../src/rank/dense-layer.js';
import { timeDense, timeLowRank } from '../../src/rank/latency.js';
import { lowRankForward, lowRankFactors } from '../../src/rank/low-rank-linear.js';
import { denseOnnx, lowRankOnnx } from '../../src/rank/onnx-export.js';
import { studentFiles } from '../../src/rank/student-export.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomLayer } from './helpers.js';

const rng = new Rng(1);
const factors = lowRankFactors(10, 7, 3, rng.normalArray(30), rng.normalArray(21), rng.normalArray(7));

async function runOnnx(model: Uint8Array, x: Float32Array, batch: number, inDim: number): Promise<{ dims: readonly number[]; data: Float32Array }> {
  const session = await loadOnnx(model);
  const out = await session.runAlloc({ x: ortTensor('float32', x, [batch, inDim]) });
  const y = out.y as { dims: readonly number[]; data: Float32Array };
  return y;
}

describe('ONNX export of the layers', () => {
  it('the low-rank layer runs at any batch size and matches the engine forward', async () => {
    const model = lowRankOnnx(factors);
    for (const batch of [1, 3, 5]) {
      const x = rng.normalArray(batch * 10);
      const got = await runOnnx(model, x, batch, 10);
      assert.deepEqual([...got.dims], [batch, 7]);
      const want = (await lowRankForward(factors, Tensor.from(x, [batch, 10])).toArray()) as Float32Array;
      got.data.forEach((v, i) => assert.ok(Math.abs(v - (want[i] as number)) < 1e-5));
    }
  });

  it('the dense layer matches too, with a fixed batch when asked', async () => {
    const dense = randomLayer(10, 7, 2);
    const x = rng.normalArray(4 * 10);
    const got = await runOnnx(denseOnnx(dense, 4), x, 4, 10);
    const want = (await denseForward(dense, Tensor.from(x, [4, 10])).toArray()) as Float32Array;
    got.data.forEach((v, i) => assert.ok(Math.abs(v - (want[i] as number)) < 1e-5));
  });

  it('latency timings are medians of the requested number of runs', async () => {
    const o = { repeats: 5, warmup: 1, rng: new Rng(3) };
    const t = await timeDense(randomLayer(10, 7, 2), 4, o);
    const s = await timeLowRank(factors, 4, o);
    for (const m of [t, s]) {
      assert.equal(m.repeats, 5);
      assert.equal(m.batch, 4);
      assert.ok(m.medianMs > 0 && m.p10Ms <= m.medianMs && m.medianMs <= m.p90Ms);
    }
  });
});

describe('saved student', () => {
  it('writes safetensors, config.json and ONNX that read back to the same layer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protdistil-student-'));
    try {
      writeFilesAtomic(studentFiles(join(dir, 'random'), factors, { teacher: 'random' }));
      const reader = SafetensorsReader.open(join(dir, 'random', 'model.safetensors'));
      try {
        assert.deepEqual(reader.names.sort(), ['a.weight', 'b.bias', 'b.weight']);
        assert.deepEqual(Array.from(reader.read('a.weight').data as Float32Array), Array.from(factors.a));
        assert.deepEqual([...reader.read('b.weight').shape], [7, 3]);
        assert.deepEqual(Array.from(reader.read('b.bias').data as Float32Array), Array.from(factors.bias));
      } finally {
        reader.close();
      }
      const config = JSON.parse(readFileSync(join(dir, 'random', 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(config.architecture, 'LowRankLinear');
      assert.deepEqual([config.in_features, config.out_features, config.rank, config.teacher], [10, 7, 3, 'random']);
      const x = rng.normalArray(2 * 10);
      const got = await runOnnx(readFileSync(join(dir, 'random', 'model.onnx')), x, 2, 10);
      const want = (await lowRankForward(factors, Tensor.from(x, [2, 10])).toArray()) as Float32Array;
      got.data.forEach((v, i) => assert.ok(Math.abs(v - (want[i] as number)) < 1e-5));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
