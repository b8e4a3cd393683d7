import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { readNpy } from '../../src/io/npy.js';
import { isHostArray, isPtRecord, type PtValue, readPt } from '../../src/io/pt-reader.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import type { HostArray } from '../../src/tensor/host-array.js';
import { esmFixture } from './helpers.js';

/**
 * The tiny fair-esm / Hugging Face reference checkpoints (copied from the shared fixtures; layout in
 * their README): every container and format read with the expected keys, shapes and cross-format
 * equalities.
 */

interface Manifest {
  models: Record<string, { rotary_inv_freq_stored: number[] | null }>;
  weight_files: Record<string, { bytes: number; sha256: string }>;
}
const manifest = JSON.parse(readFileSync(esmFixture('manifest.json'), 'utf8')) as Manifest;
const inputs = JSON.parse(readFileSync(esmFixture('inputs.json'), 'utf8')) as { main: { tokens: number[][] } };

const SE = 'encoder.sentence_encoder.';
const LAYER_KEYS = [
  'self_attn.k_proj.weight', 'self_attn.k_proj.bias', 'self_attn.v_proj.weight', 'self_attn.v_proj.bias',
  'self_attn.q_proj.weight', 'self_attn.q_proj.bias', 'self_attn.out_proj.weight', 'self_attn.out_proj.bias',
  'self_attn_layer_norm.weight', 'self_attn_layer_norm.bias', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias',
  'final_layer_norm.weight', 'final_layer_norm.bias',
];
/** fair-esm per-layer names -> Hugging Face `EsmForMaskedLM` names (ESM-SPEC §8.4). */
const HF_LAYER: Record<string, string> = {
  'self_attn.q_proj': 'attention.self.query',
  'self_attn.k_proj': 'attention.self.key',
  'self_attn.v_proj': 'attention.self.value',
  'self_attn.out_proj': 'attention.output.dense',
  self_attn_layer_norm: 'attention.LayerNorm',
  fc1: 'intermediate.dense',
  fc2: 'output.dense',
  final_layer_norm: 'LayerNorm',
};

function asMap(v: PtValue | undefined, what: string): Map<PtValue, PtValue> {
  assert.ok(v instanceof Map, `${what} is not a dict`);
  return v;
}

function tensor(m: Map<PtValue, PtValue>, key: string): HostArray {
  const v = m.get(key);
  assert.ok(isHostArray(v), `${key} is not a tensor`);
  return v;
}

function loadModel(model: string): { top: Map<PtValue, PtValue>; sd: Map<PtValue, PtValue> } {
  const top = asMap(readPt(esmFixture(model, `${model}.pt`)), model);
  return { top, sd: asMap(top.get('model'), `${model} model`) };
}

describe('ESM fixture files', () => {
  it('are byte-identical copies of the shared reference files', () => {
    for (const [rel, { bytes, sha256 }] of Object.entries(manifest.weight_files)) {
      const data = readFileSync(esmFixture(rel));
      assert.equal(data.length, bytes, rel);
      assert.equal(createHash('sha256').update(data).digest('hex'), sha256, rel);
    }
  });
});

describe('ESM-2 tiny .pt (zip)', () => {
  const { top, sd } = loadModel('esm2_t3_tiny');

  it('holds args=None, a cfg namespace and the released key layout', () => {
    assert.deepEqual([...top.keys()], ['args', 'cfg', 'model']);
    assert.equal(top.get('args'), null);
    const cfgModel = asMap(top.get('cfg'), 'cfg').get('model');
    assert.ok(isPtRecord(cfgModel));
    assert.equal(cfgModel._name, 'ESM2');
    assert.deepEqual(
      [cfgModel.encoder_layers, cfgModel.encoder_embed_dim, cfgModel.encoder_ffn_embed_dim, cfgModel.encoder_attention_heads, cfgModel.token_dropout],
      [3, 48, 192, 6, true],
    );
    const expectedKeys = [
      ...[0, 1, 2].flatMap((i) => [...LAYER_KEYS, 'self_attn.rot_emb.inv_freq'].map((k) => `${SE}layers.${i}.${k}`)),
      `${SE}embed_tokens.weight`, `${SE}emb_layer_norm_after.weight`, `${SE}emb_layer_norm_after.bias`,
      'encoder.lm_head.weight', 'encoder.lm_head.bias', 'encoder.lm_head.dense.weight', 'encoder.lm_head.dense.bias',
      'encoder.lm_head.layer_norm.weight', 'encoder.lm_head.layer_norm.bias',
    ];
    assert.deepEqual([...sd.keys()].sort(), expectedKeys.sort());
  });

  it('has the tied embedding [33, 48] identical to lm_head.weight, and float16-rounded inv_freq', () => {
    const embed = tensor(sd, `${SE}embed_tokens.weight`);
    assert.deepEqual(embed.shape, [33, 48]);
    assert.equal(embed.dtype, 'float32');
    assert.deepEqual(tensor(sd, 'encoder.lm_head.weight'), embed);
    assert.ok(embed.data.some((v) => v !== 0));
    assert.deepEqual(tensor(sd, `${SE}layers.0.fc1.weight`).shape, [192, 48]);
    for (const i of [0, 1, 2]) {
      const inv = tensor(sd, `${SE}layers.${i}.self_attn.rot_emb.inv_freq`);
      assert.deepEqual([...inv.data], manifest.models.esm2_t3_tiny!.rotary_inv_freq_stored);
    }
  });
});

describe('ESM-1b tiny .pt (zip)', () => {
  const { top, sd } = loadModel('esm1b_t3_tiny');

  it('holds an args namespace (arch roberta_large) and learned positions', () => {
    const args = top.get('args');
    assert.ok(isPtRecord(args));
    assert.deepEqual(
      [args.arch, args.encoder_layers, args.encoder_embed_dim, args.encoder_attention_heads, args.max_positions],
      ['roberta_large', 3, 48, 6, 1024],
    );
    assert.deepEqual(tensor(sd, `${SE}embed_positions.weight`).shape, [1026, 48]);
    assert.deepEqual(tensor(sd, `${SE}emb_layer_norm_before.weight`).shape, [48]);
    assert.equal(sd.size, 60);
    assert.deepEqual(tensor(sd, 'encoder.lm_head.weight'), tensor(sd, `${SE}embed_tokens.weight`));
  });
});

describe('ESM Hugging Face safetensors', () => {
  it('ESM-2: 64 tensors incl. the unused position_embeddings, position_ids and the decoder', () => {
    const { tensors, metadata } = readSafetensors(esmFixture('esm2_t3_tiny', 'hf', 'model.safetensors'));
    assert.deepEqual(metadata, { format: 'pt' });
    assert.equal(tensors.size, 64);
    assert.deepEqual(tensors.get('esm.embeddings.position_embeddings.weight')?.shape, [1026, 48]);
    const ids = tensors.get('esm.embeddings.position_ids')!;
    assert.equal(ids.dtype, 'int64');
    assert.deepEqual([...ids.data], Array.from({ length: 1026 }, (_, i) => BigInt(i)));
    assert.deepEqual(tensors.get('lm_head.decoder.weight'), tensors.get('esm.embeddings.word_embeddings.weight'));
    assert.deepEqual(tensors.get('esm.encoder.layer.2.attention.self.rotary_embeddings.inv_freq')?.shape, [4]);
  });

  it('ESM-1b: 62 tensors, no decoder weight, embeddings LayerNorm present', () => {
    const { tensors } = readSafetensors(esmFixture('esm1b_t3_tiny', 'hf', 'model.safetensors'));
    assert.equal(tensors.size, 62);
    assert.equal(tensors.has('lm_head.decoder.weight'), false);
    assert.deepEqual(tensors.get('esm.embeddings.layer_norm.weight')?.shape, [48]);
  });

  for (const model of ['esm2_t3_tiny', 'esm1b_t3_tiny']) {
    it(`${model}: every layer weight equals the .pt one under the key mapping`, () => {
      const { sd } = loadModel(model);
      const { tensors } = readSafetensors(esmFixture(model, 'hf', 'model.safetensors'));
      let compared = 0;
      for (const i of [0, 1, 2]) {
        for (const [fair, hf] of Object.entries(HF_LAYER)) {
          for (const p of ['weight', 'bias']) {
            assert.deepEqual(tensors.get(`esm.encoder.layer.${i}.${hf}.${p}`), tensor(sd, `${SE}layers.${i}.${fair}.${p}`), `${fair}.${p}`);
            compared++;
          }
        }
      }
      assert.equal(compared, 48);
      const hfEmbed = tensors.get('esm.embeddings.word_embeddings.weight')!;
      const ptEmbed = tensor(sd, `${SE}embed_tokens.weight`);
      // HF ESM-1b was converted after fair-esm zeroed the <mask> row (32); ESM-2 is unchanged.
      const rows = model.startsWith('esm1b') ? 32 : 33;
      assert.deepEqual(hfEmbed.data.slice(0, rows * 48), ptEmbed.data.slice(0, rows * 48));
      if (rows === 32) assert.ok(hfEmbed.data.slice(32 * 48).every((v) => v === 0) && ptEmbed.data.slice(32 * 48).some((v) => v !== 0));
    });
  }
});

describe('ESM contact-regression files', () => {
  for (const [model, container] of [['esm2_t3_tiny', 'zip'], ['esm1b_t3_tiny', 'legacy']] as const) {
    it(`${model} (${container}) matches the HF contact head exactly`, () => {
      const file = esmFixture(model, `${model}-contact-regression.pt`);
      assert.equal(readFileSync(file).subarray(0, 2).toString('latin1') === 'PK', container === 'zip');
      const sd = asMap(asMap(readPt(file), 'top').get('model'), 'model');
      const { tensors } = readSafetensors(esmFixture(model, 'hf', 'model.safetensors'));
      assert.deepEqual(tensor(sd, 'contact_head.regression.weight').shape, [1, 18]);
      assert.deepEqual(tensor(sd, 'contact_head.regression.weight'), tensors.get('esm.contact_head.regression.weight'));
      assert.deepEqual(tensor(sd, 'contact_head.regression.bias'), tensors.get('esm.contact_head.regression.bias'));
    });
  }
});

describe('ESM reference arrays (.npy)', () => {
  it('tokens.npy is int64 [4, 40] and equals inputs.json', () => {
    for (const model of ['esm2_t3_tiny', 'esm1b_t3_tiny']) {
      const tokens = readNpy(esmFixture(model, 'main', 'tokens.npy'));
      assert.equal(tokens.dtype, 'int64');
      assert.deepEqual(tokens.shape, [4, 40]);
      assert.deepEqual([...tokens.data], inputs.main.tokens.flat().map(BigInt));
      const mean = readNpy(esmFixture(model, 'main', 'mean_repr_layer_3.npy'));
      assert.deepEqual([mean.dtype, mean.shape], ['float32', [4, 48]]);
      assert.ok(mean.data.every((v) => Number.isFinite(v)) && mean.data.some((v) => v !== 0));
    }
  });
});
