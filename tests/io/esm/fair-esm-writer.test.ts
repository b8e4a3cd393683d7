import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultRegressionPath, loadFairEsm } from '../../../src/io/esm/fair-esm.js';
import { fairEsmFileName, writeFairEsm } from '../../../src/io/esm/fair-esm-writer.js';
import { readPt, isPtRecord } from '../../../src/io/pt-reader.js';
import { parseEsmConfig } from '../../../src/models/esm/config.js';
import { initEsmWeights } from '../../../src/models/esm/init.js';
import { createEsmModel } from '../../../src/models/esm/model.js';
import { Rng } from '../../../src/tensor/random.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { tempDir } from '../../distill/helpers.js';

const { dir, cleanup } = tempDir('protdistil-fairesm-');
after(cleanup);

const configs = {
  esm2: parseEsmConfig({ arch: 'esm2', numLayers: 2, embedDim: 16, attentionHeads: 2, ffnDim: 64, tokenDropout: true }),
  esm1b: parseEsmConfig({ arch: 'esm1b', numLayers: 2, embedDim: 16, attentionHeads: 2, ffnDim: 32, tokenDropout: false, maxPositions: 1024, embLayerNormBefore: true }),
};

for (const [arch, cfg] of Object.entries(configs)) {
  test(`${arch}: a written fair-esm checkpoint loads back with the same weights and logits`, async () => {
    const model = createEsmModel(cfg, new Rng(3));
    initEsmWeights(model, new Rng(4));
    const path = join(dir, fairEsmFileName(model, `tiny_${arch}`));
    if (arch === 'esm2') assert.ok(path.endsWith('esm2_tiny_esm2.pt'), 'fair-esm picks ESM-2 by an esm2 file stem');
    writeFairEsm(model, path);
    const top = readPt(path) as Map<string, unknown>;
    const sd = top.get('model') as Map<string, unknown>;
    assert.ok(sd.has('encoder.sentence_encoder.layers.0.self_attn.q_proj.weight') && sd.has('encoder.lm_head.dense.weight') && sd.has('encoder.lm_head.weight'));
    if (arch === 'esm2') {
      const ns = (top.get('cfg') as Map<string, unknown>).get('model');
      assert.ok(isPtRecord(ns as never), 'cfg.model is an argparse.Namespace');
      assert.deepEqual({ ...(ns as object) }, { encoder_layers: 2, encoder_embed_dim: 16, encoder_attention_heads: 2, token_dropout: true });
    } else {
      const args = top.get('args');
      assert.ok(isPtRecord(args as never));
      assert.equal((args as Record<string, unknown>).arch, 'roberta_large');
      assert.equal((args as Record<string, unknown>).encoder_ffn_embed_dim, 32);
    }
    const loaded = loadFairEsm(path);
    assert.equal(loaded.hasContactHead, true, 'the -contact-regression.pt written beside it is found');
    assert.ok(defaultRegressionPath(path).endsWith('-contact-regression.pt'));
    assert.deepEqual(loaded.config, cfg);
    for (const [name, a] of model.stateDict()) assert.deepEqual(loaded.model.stateDict().get(name)?.data, a.data, name);
    const tokens = Tensor.from(BigInt64Array.from([0, 5, 32, 7, 8, 2, 1], BigInt), [1, 7], 'int64');
    assert.deepEqual(await loaded.model.forward(tokens).logits.toArray(), await model.forward(tokens).logits.toArray());
  });
}
