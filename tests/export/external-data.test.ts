import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LiveTeacher } from '../../src/distill/teacher.js';
import { OnnxEsmModel } from '../../src/extract/onnx-model.js';
import { writeFileAtomic, writeFilesAtomic } from '../../src/io/atomic-write.js';
import { parseEsmConfig } from '../../src/models/esm/config.js';
import { createEsmModel } from '../../src/models/esm/model.js';
import { exportEsmOnnx, exportEsmOnnxFiles, onnxFileEntries, ONNX_DATA_FILE } from '../../src/models/esm/onnx.js';
import { hostArray } from '../../src/tensor/host-array.js';
import { Rng } from '../../src/tensor/random.js';

// Models past protobuf's 2 GiB limit (ESM-1b / ESM-2 650M) keep their weights in an ONNX
// external-data file. The threshold is lowered here so a tiny model takes that path.

const dir = mkdtempSync(join(tmpdir(), 'pd-external-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cfg = parseEsmConfig({ arch: 'esm2', numLayers: 2, embedDim: 32, attentionHeads: 4, ffnDim: 64, tokenDropout: true });

function tokens(b: number, t: number, seed: number): BigInt64Array {
  const rng = new Rng(seed);
  const toks = new BigInt64Array(b * t).fill(1n);
  for (let i = 0; i < b; i++) {
    const len = t - 2 - (i % 2) * 3;
    toks[i * t] = 0n;
    for (let j = 1; j <= len; j++) toks[i * t + j] = BigInt(rng.uniform() < 0.1 ? 32 : 4 + rng.int(20));
    toks[i * t + len + 1] = 2n;
  }
  return toks;
}

test('writeFileAtomic writes chunked bytes at their offsets, zeros between, at the stated size', () => {
  const path = join(dir, 'chunks.bin');
  writeFileAtomic(path, { chunks: [{ offset: 0, bytes: Uint8Array.of(1, 2, 3) }, { offset: 8, bytes: Uint8Array.of(9, 8) }], size: 16 });
  assert.deepEqual([...readFileSync(path)], [1, 2, 3, 0, 0, 0, 0, 0, 9, 8, 0, 0, 0, 0, 0, 0]);
});

test('an export with external data holds its weights beside the model and runs like the embedded export', async () => {
  const model = createEsmModel(cfg, new Rng(5));
  const embedded = join(dir, 'embedded', 'model.onnx');
  writeFileAtomic(embedded, exportEsmOnnx(model));
  const files = exportEsmOnnxFiles(createEsmModel(cfg, new Rng(5)), { externalAboveBytes: 0 });
  assert.ok(files.data !== null && files.data.location === ONNX_DATA_FILE);
  // Every weight matrix went out: the model file is a small fraction of the embedded one.
  const extPath = join(dir, 'external', 'model.onnx');
  writeFilesAtomic(onnxFileEntries(extPath, files));
  const dataBytes = statSync(join(dir, 'external', ONNX_DATA_FILE)).size;
  assert.equal(dataBytes, files.data.size);
  assert.ok(dataBytes >= 4 * 2 * (4 * 32 * 32 + 2 * 32 * 64), `data file ${dataBytes} B holds the layer weights`);
  assert.ok(statSync(extPath).size < statSync(embedded).size / 4, `model file ${statSync(extPath).size} B vs embedded ${statSync(embedded).size} B`);
  for (const offset of files.data.chunks.map((c) => c.offset)) assert.equal(offset % 4096, 0);

  const spec = { reprLayers: [cfg.numLayers], logits: true, contacts: false };
  const a = await (await OnnxEsmModel.load(embedded).session(spec)).run(hostArray('int64', [3, 17], tokens(3, 17, 2)));
  const b = await (await OnnxEsmModel.load(extPath).session(spec)).run(hostArray('int64', [3, 17], tokens(3, 17, 2)));
  assert.deepEqual(b.logits?.data, a.logits?.data);
  assert.deepEqual(b.representations.get(cfg.numLayers)?.data, a.representations.get(cfg.numLayers)?.data);

  // The model really reads the data file: without it, it cannot be opened.
  rmSync(join(dir, 'external', ONNX_DATA_FILE));
  await assert.rejects(async () => (await OnnxEsmModel.load(extPath).session(spec)).run(hostArray('int64', [1, 5], tokens(1, 5, 3))), /ONNX Runtime could not load/);
});

test('a live teacher past the protobuf limit runs from external data and leaves no files behind', async () => {
  const before = readdirSync(tmpdir()).filter((f) => f.startsWith('protdistil-teacher-')).length;
  const inline = await LiveTeacher.fromModel(createEsmModel(cfg, new Rng(7)), 'inline', 'fp');
  const external = await LiveTeacher.fromModel(createEsmModel(cfg, new Rng(7)), 'external', 'fp', { externalAboveBytes: 0 });
  assert.equal(readdirSync(tmpdir()).filter((f) => f.startsWith('protdistil-teacher-')).length, before, 'temporary export removed');
  const toks = hostArray('int64', [2, 11], tokens(2, 11, 4));
  const batch = { tokens: toks } as Parameters<LiveTeacher['logits']>[0];
  const za = await inline.logits(batch);
  const zb = await external.logits(batch);
  assert.deepEqual(zb.shape, [2, 11, 33]);
  assert.deepEqual(zb.data, za.data);
  assert.ok(!existsSync(join(tmpdir(), 'teacher.onnx')));
});
