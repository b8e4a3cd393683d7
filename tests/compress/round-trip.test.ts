import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compressEsm } from '../../src/compress/compress.js';
import { writeFilesAtomic } from '../../src/io/atomic-write.js';
import { hfEsmFiles, writeHfEsm } from '../../src/io/esm/hf-writer.js';
import { loadEsm } from '../../src/io/esm/load.js';
import { LOW_RANK_FIELD } from '../../src/io/esm/low-rank-config.js';
import { exportEsmOnnx } from '../../src/models/esm/onnx.js';
import { LowRankLinear } from '../../src/nn/low-rank-linear.js';
import { lowRankPaths } from '../../src/nn/swap.js';
import { OnnxModel } from '../../src/runtime/onnx-model.js';
import { checkpointPaths } from '../models/esm/fixtures.js';
import { assertFails } from '../rank/helpers.js';
import { logitsOf, randomTokenSet, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir();
after(cleanup);

describe('a compressed model saves and loads everywhere a model loads', async () => {
  const model = loadEsm(checkpointPaths('esm2_t3_tiny').pt).model;
  const set = await randomTokenSet(dir, 10, 21);
  await compressEsm(model, set, { policy: { kind: 'target-cosine', cosine: 0.9 } });
  const ranks = lowRankPaths(model);
  const out = join(dir, 'model');
  writeFilesAtomic(hfEsmFiles(model, out));
  const test = await randomTokenSet(dir, 5, 77);

  it('round-trips through the Hugging Face directory: same factors, same logits, listed in config.json', async () => {
    assert.ok(ranks.size > 0 && ranks.size < 19 + 1, `${ranks.size} factored`);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    const field = cfg[LOW_RANK_FIELD] as Record<string, number>;
    assert.equal(Object.keys(field).length, ranks.size);
    assert.equal(field['esm.encoder.layer.0.attention.self.query'], ranks.get('layers.0.selfAttn.qProj'));
    const loaded = loadEsm(out);
    assert.deepEqual(lowRankPaths(loaded.model), ranks);
    assert.ok(loaded.notes.some((n) => n.includes('low-rank factors')));
    const a = await logitsOf(model, test);
    const b = await logitsOf(loaded.model, test);
    a.forEach((x, i) => assert.deepEqual(x, b[i]));
    // The streaming writer gives the same directory.
    const out2 = join(dir, 'model2');
    writeHfEsm(model, out2);
    assert.deepEqual(readFileSync(join(out2, 'model.safetensors')), readFileSync(join(out, 'model.safetensors')));
  });

  it('exports to ONNX with the same logits', async () => {
    const onnx = await OnnxModel.load(exportEsmOnnx(model));
    const ref = await logitsOf(model, test);
    for (const [i, b] of test.batches.entries()) {
      const got = (await onnx.run({ tokens: b.tokens })).logits?.data as Float32Array;
      const want = ref[i] as Float32Array;
      let err = 0;
      want.forEach((v, j) => (err = Math.max(err, Math.abs(v - (got[j] as number)))));
      assert.ok(err <= 1e-4, `ONNX logits differ by ${err}`);
    }
  });

  it('loading stays strict: a listed projection stored dense, an unlisted factored one, a bad name or rank', () => {
    const cfgPath = join(out, 'config.json');
    const good = readFileSync(cfgPath, 'utf8');
    const cfg = JSON.parse(good) as Record<string, Record<string, number>>;
    const field = cfg[LOW_RANK_FIELD] as Record<string, number>;
    const [first] = Object.keys(field) as [string];
    try {
      // Unlisting a factored projection: its factors are unexpected and its dense weight missing.
      const { [first]: _dropped, ...rest } = field;
      writeFileSync(cfgPath, JSON.stringify({ ...cfg, [LOW_RANK_FIELD]: rest }));
      assertFails(() => loadEsm(out), 'checkpoint', 'missing', `${first}.a.weight`.replace(/^esm\./, ''), 'unexpected');
      writeFileSync(cfgPath, JSON.stringify({ ...cfg, [LOW_RANK_FIELD]: { ...field, [first]: (field[first] as number) + 1 } }));
      assertFails(() => loadEsm(out), 'checkpoint', 'mis-shaped');
      writeFileSync(cfgPath, JSON.stringify({ ...cfg, [LOW_RANK_FIELD]: { ...field, 'esm.encoder.layer.0.attention.LayerNorm': 2 } }));
      assertFails(() => loadEsm(out), 'checkpoint', LOW_RANK_FIELD, 'is not a dense Linear');
      writeFileSync(cfgPath, JSON.stringify({ ...cfg, [LOW_RANK_FIELD]: { ...field, [first]: 48 } }));
      assertFails(() => loadEsm(out), 'checkpoint', LOW_RANK_FIELD, 'min(d_in, d_out) = 48');
      writeFileSync(cfgPath, JSON.stringify({ ...cfg, [LOW_RANK_FIELD]: { 'esm.nope': 2 } }));
      assertFails(() => loadEsm(out), 'checkpoint', "'esm.nope' is not an ESM projection");
    } finally {
      writeFileSync(cfgPath, good);
    }
    assert.ok(loadEsm(out).model.layers.some((l) => l.fc1 instanceof LowRankLinear || l.fc2 instanceof LowRankLinear));
  });
});
