import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isProtdistilError, type ErrorCode } from '../../../src/errors.js';
import { loadFairEsm } from '../../../src/io/esm/fair-esm.js';
import { hfConfig, hfStateDict, writeHfEsm } from '../../../src/io/esm/hf-writer.js';
import { loadHfEsm, readHfEsmConfig } from '../../../src/io/esm/hugging-face.js';
import { loadEsm } from '../../../src/io/esm/load.js';
import type { LoadedEsm } from '../../../src/io/esm/loaded.js';
import { fairEsmToHfName, fromFairEsmName, hfToFairEsmName, toFairEsmName, upgradeEsm1bArg, upgradeEsm1bKey, upgradeEsm2Key } from '../../../src/io/esm/names.js';
import { readSafetensors, writeSafetensors } from '../../../src/io/safetensors.js';
import { halfToFloat } from '../../../src/io/raw-dtype.js';
import { parseEsmConfig } from '../../../src/models/esm/config.js';
import { Esm2 } from '../../../src/models/esm/esm2.js';
import type { EsmModel } from '../../../src/models/esm/model.js';
import type { HostArray } from '../../../src/tensor/host-array.js';
import { Rng } from '../../../src/tensor/random.js';
import { checkpointPaths, esmFixturePath } from '../../models/esm/fixtures.js';

/** fair-esm and Hugging Face ESM loaders: formats, strictness, dtype upcasts, the writer's round trip. */

const tmp = mkdtempSync(join(tmpdir(), 'protdistil-esm-io-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function fails(fn: () => unknown, code: ErrorCode, ...parts: (string | RegExp)[]): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isProtdistilError(e), `expected a ProtdistilError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const p of parts) {
      if (typeof p === 'string') assert.ok(e.message.includes(p), `message lacks ${JSON.stringify(p)}: ${e.message}`);
      else assert.match(e.message, p);
    }
    return e.message;
  }
  assert.fail('expected an error');
}

function weights(m: EsmModel): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [k, a] of m.stateDict()) out.set(k, a.data as Float32Array);
  if (m.config.arch === 'esm2') m.layers.forEach((l, i) => out.set(`invFreq.${i}`, l.selfAttn.invFreq));
  return out;
}

function sameWeights(a: EsmModel, b: EsmModel): void {
  const wa = weights(a);
  const wb = weights(b);
  assert.deepEqual([...wa.keys()], [...wb.keys()]);
  for (const [k, v] of wa) assert.deepEqual(Array.from(wb.get(k) as Float32Array), Array.from(v), k);
}

/** A copy of a fixture HF directory whose tensors pass through `edit`. */
function editedHf(model: 'esm2_t3_tiny' | 'esm1b_t3_tiny', name: string, edit: (t: Map<string, HostArray>) => void): string {
  const dir = join(tmp, name);
  cpSync(checkpointPaths(model).hf, dir, { recursive: true });
  const { tensors } = readSafetensors(join(dir, 'model.safetensors'));
  edit(tensors);
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  return dir;
}

describe('rename tables', () => {
  it('map every parameter of both architectures between protdistil, fair-esm and Hugging Face names and back', () => {
    const pt = loadFairEsm(checkpointPaths('esm1b_t3_tiny').pt);
    const esm2 = loadFairEsm(checkpointPaths('esm2_t3_tiny').pt);
    for (const m of [pt.model, esm2.model]) {
      for (const [name] of m.namedParameters()) {
        const fair = toFairEsmName(name);
        assert.equal(fromFairEsmName(fair), name);
        const hf = fairEsmToHfName(fair);
        assert.ok(hf !== null, fair);
        assert.equal(hfToFairEsmName(hf), fair);
      }
    }
    assert.equal(toFairEsmName('layers.2.selfAttnLayerNorm.weight'), 'layers.2.self_attn_layer_norm.weight');
    assert.equal(fairEsmToHfName('layers.2.self_attn_layer_norm.weight'), 'esm.encoder.layer.2.attention.LayerNorm.weight');
    assert.equal(fairEsmToHfName('layers.0.final_layer_norm.bias'), 'esm.encoder.layer.0.LayerNorm.bias');
    assert.equal(hfToFairEsmName('encoder.layer.1.intermediate.dense.bias'), 'layers.1.fc1.bias', 'bare EsmModel names');
    assert.equal(hfToFairEsmName('esm.pooler.dense.weight'), null);
    assert.equal(upgradeEsm2Key('encoder.sentence_encoder.layers.0.fc1.weight'), 'layers.0.fc1.weight');
    assert.equal(upgradeEsm2Key('encoder.lm_head.bias'), 'lm_head.bias');
    assert.equal(upgradeEsm1bKey('encoder.sentence_encoder.emb_layer_norm_before.weight'), 'emb_layer_norm_before.weight');
    assert.equal(upgradeEsm1bKey('encoder.lm_head.dense.weight'), 'lm_head.dense.weight');
    assert.equal(upgradeEsm1bArg('encoder_ffn_embed_dim'), 'ffn_embed_dim');
    assert.equal(upgradeEsm1bArg('max_positions'), 'max_positions');
  });
});

describe('fair-esm .pt', () => {
  it('reads configs from cfg / args, the sibling regression file and both containers', () => {
    const e2 = loadFairEsm(checkpointPaths('esm2_t3_tiny').pt);
    assert.deepEqual([e2.config.arch, e2.config.numLayers, e2.config.embedDim, e2.config.attentionHeads, e2.config.ffnDim, e2.config.tokenDropout], ['esm2', 3, 48, 6, 192, true]);
    assert.equal(e2.hasContactHead, true);
    assert.deepEqual(Array.from(e2.model.layers[0]!.selfAttn.invFreq), [1, 0.0999755859375, 0.01000213623046875, 0.0010004043579101562]);
    const e1 = loadFairEsm(checkpointPaths('esm1b_t3_tiny').pt);
    assert.deepEqual([e1.config.arch, e1.config.maxPositions, e1.config.embLayerNormBefore], ['esm1b', 1024, true]);
    assert.equal(e1.hasContactHead, true, 'legacy-container regression file');
    const legacy = loadEsm(esmFixturePath('variants', 'esm2_t3_legacy.pt'));
    assert.equal(legacy.hasContactHead, false);
    assert.match(legacy.notes.join(' '), /esm2_t3_legacy-contact-regression\.pt not found/);
    const { contactHead: _ignored, ...w2 } = Object.fromEntries(weights(e2.model));
    assert.deepEqual(Object.keys(Object.fromEntries(weights(legacy.model))), Object.keys(w2).filter((k) => !k.startsWith('contactHead')));
    for (const [k, v] of weights(legacy.model)) assert.deepEqual(Array.from(v), Array.from(weights(e2.model).get(k) as Float32Array), k);
  });

  it('zeroes the ESM-1b <mask> embedding row on load (not for ESM-2)', () => {
    const row = (m: LoadedEsm): number[] => Array.from((m.model.embedTokens.weight.node.realized as Float32Array).subarray(32 * 48, 33 * 48));
    assert.ok(row(loadFairEsm(checkpointPaths('esm1b_t3_tiny').pt)).every((v) => v === 0));
    assert.ok(row(loadHfEsm(checkpointPaths('esm1b_t3_tiny').hf)).every((v) => v === 0));
    assert.ok(row(loadFairEsm(checkpointPaths('esm2_t3_tiny').pt)).some((v) => v !== 0));
  });

  it('reports every missing, unexpected and mis-shaped key at once, in the file\'s names', () => {
    const msg = fails(() => loadEsm(esmFixturePath('variants', 'esm2_t3_broken.pt')), 'checkpoint',
      'missing 1: layers.1.fc1.weight', 'unexpected 1: encoder.sentence_encoder.layers.3.fc1.bias', 'mis-shaped 1: encoder.lm_head.bias: file [34], model [33]');
    assert.match(msg, /an ESM-2 model with 3 layers, embed dim 48, 6 heads/);
  });

  it('rejects hostile pickles without running them, and unsupported architectures', () => {
    fails(() => loadEsm(join(esmFixturePath(), '..', 'io', 'pt', 'hostile-zip-os-system.pt')), 'checkpoint', 'refusing to load global');
    fails(() => loadEsm(esmFixturePath('variants', 'esm1_t3_old.pt')), 'checkpoint', 'ESM-1 checkpoints (arch protein_bert_base) are not supported');
    fails(() => loadEsm(join(esmFixturePath(), 'inputs.json')), 'checkpoint', 'not a PyTorch checkpoint');
    fails(() => loadEsm(join(tmp, 'absent.pt')), 'io', 'not found');
  });
});

describe('Hugging Face directories', () => {
  it('read config.json into the same configs as the .pt files', () => {
    for (const m of ['esm2_t3_tiny', 'esm1b_t3_tiny'] as const) {
      assert.deepEqual(readHfEsmConfig(checkpointPaths(m).hf), loadFairEsm(checkpointPaths(m).pt).config);
      sameWeights(loadHfEsm(checkpointPaths(m).hf).model, loadFairEsm(checkpointPaths(m).pt).model);
    }
  });

  it('upcast F16 and BF16 weights to float32 exactly', () => {
    for (const dtype of ['F16', 'BF16'] as const) {
      const dir = join(tmp, `hf-${dtype}`);
      cpSync(checkpointPaths('esm2_t3_tiny').hf, dir, { recursive: true });
      const { tensors } = readSafetensors(join(dir, 'model.safetensors'));
      writeHalfSafetensors(join(dir, 'model.safetensors'), tensors, dtype);
      const loaded = loadHfEsm(dir);
      const ref = loadHfEsm(checkpointPaths('esm2_t3_tiny').hf).model;
      const want = weights(ref);
      for (const [k, v] of weights(loaded.model)) {
        const exact = Array.from(want.get(k) as Float32Array, (x) => (dtype === 'F16' ? halfToFloat(toHalfBits(x)) : bf16(x)));
        assert.deepEqual(Array.from(v), exact, `${dtype} ${k}`);
      }
    }
  });

  it('ignore position_ids and the rotary model\'s unused position table, and fall back to tied weights', () => {
    const keys = [...readSafetensors(join(checkpointPaths('esm2_t3_tiny').hf, 'model.safetensors')).tensors.keys()];
    assert.ok(keys.includes('esm.embeddings.position_ids') && keys.includes('esm.embeddings.position_embeddings.weight'));
    const e1 = loadHfEsm(checkpointPaths('esm1b_t3_tiny').hf);
    assert.match(e1.notes.join(' '), /lm_head\.decoder\.weight absent/);
  });

  it('accept the bare EsmModel layout (no esm. prefix)', () => {
    const dir = editedHf('esm2_t3_tiny', 'bare', (t) => {
      for (const [k, v] of [...t]) {
        if (!k.startsWith('esm.')) continue;
        t.delete(k);
        t.set(k.slice(4), v);
      }
    });
    sameWeights(loadHfEsm(dir).model, loadHfEsm(checkpointPaths('esm2_t3_tiny').hf).model);
  });

  it('are strict: every problem at once; a decoder that differs from the embedding is rejected', () => {
    const broken = editedHf('esm2_t3_tiny', 'broken', (t) => {
      t.delete('esm.encoder.layer.1.intermediate.dense.weight');
      t.delete('esm.encoder.emb_layer_norm_after.bias');
      t.set('esm.encoder.layer.7.output.dense.bias', t.get('lm_head.bias') as HostArray);
      t.set('esm.pooler.dense.bias', t.get('lm_head.bias') as HostArray);
      t.set('lm_head.bias', { dtype: 'float32', shape: [34], data: new Float32Array(34) });
    });
    fails(() => loadHfEsm(broken), 'checkpoint', 'missing 2: layers.1.fc1.weight, emb_layer_norm_after.bias',
      'unexpected 2:', 'esm.encoder.layer.7.output.dense.bias', 'esm.pooler.dense.bias', 'mis-shaped 1: lm_head.bias: file [34], model [33]');
    const untied = editedHf('esm2_t3_tiny', 'untied', (t) => {
      const d = t.get('lm_head.decoder.weight') as HostArray;
      const data = Float32Array.from(d.data as Float32Array);
      data[5 * 48 + 7] = (data[5 * 48 + 7] as number) + 1;
      t.set('lm_head.decoder.weight', { ...d, data });
    });
    fails(() => loadHfEsm(untied), 'checkpoint', 'differs from the token embedding', 'row 5, column 7');
  });

  it('reject configs that are not ESM-1b/ESM-2', () => {
    const dir = join(tmp, 'bad-config');
    cpSync(checkpointPaths('esm2_t3_tiny').hf, dir, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    delete cfg.layer_norm_eps;
    cfg.hidden_act = 'gelu_new';
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    fails(() => loadHfEsm(dir), 'checkpoint', 'layer_norm_eps', 'hidden_act');
    fails(() => loadHfEsm(tmp), 'checkpoint', 'no config.json');
  });
});

describe('Hugging Face writer', () => {
  it('writes the fixture layout (minus ignorable keys) and config, and round-trips exactly', () => {
    for (const m of ['esm2_t3_tiny', 'esm1b_t3_tiny'] as const) {
      const src = loadFairEsm(checkpointPaths(m).pt);
      const dir = join(tmp, `written-${m}`);
      writeHfEsm(src.model, dir);
      const back = loadHfEsm(dir);
      sameWeights(back.model, src.model);
      assert.deepEqual(back.config, src.config);
      const fixtureKeys = [...readSafetensors(join(checkpointPaths(m).hf, 'model.safetensors')).tensors.keys()]
        .filter((k) => k !== 'esm.embeddings.position_ids' && k !== 'lm_head.decoder.weight' && !(m === 'esm2_t3_tiny' && k === 'esm.embeddings.position_embeddings.weight'));
      assert.deepEqual([...hfStateDict(src.model).keys()].sort(), fixtureKeys.sort());
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), JSON.parse(readFileSync(join(checkpointPaths(m).hf, 'config.json'), 'utf8')));
      assert.equal(readFileSync(join(dir, 'vocab.txt'), 'utf8'), readFileSync(join(checkpointPaths(m).hf, 'vocab.txt'), 'utf8'));
    }
  });

  it('writes students (no contact head, no token dropout) that load back', () => {
    const cfg = parseEsmConfig({ arch: 'esm2', numLayers: 2, embedDim: 32, attentionHeads: 4, ffnDim: 128, tokenDropout: false });
    const student = new Esm2(cfg, new Rng(4));
    const dir = join(tmp, 'student');
    writeHfEsm(student, dir);
    const back = loadHfEsm(dir);
    assert.equal(back.hasContactHead, false);
    assert.equal(hfConfig(cfg).token_dropout, false);
    sameWeights(back.model, student);
  });
});

/** IEEE half bits of a float (round to nearest even), for writing F16 test files. */
function toHalfBits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0] as number;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  let mant = u & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && (half & 1) === 1) ? 1 : 0));
  }
  if (exp >= 31) return sign | 0x7c00;
  const half = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  return sign | (half + (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1) ? 1 : 0));
}

/** bfloat16 rounding of a float (nearest even), as a float. */
function bf16(x: number): number {
  return bf16Float(bf16Bits(x));
}
function bf16Bits(x: number): number {
  const u = new Uint32Array(new Float32Array([x]).buffer)[0] as number;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
function bf16Float(bits: number): number {
  return new Float32Array(new Uint32Array([bits << 16]).buffer)[0] as number;
}

/** Writes float tensors as F16 or BF16 (other dtypes as they are) in a valid safetensors layout. */
function writeHalfSafetensors(path: string, tensors: Map<string, HostArray>, dtype: 'F16' | 'BF16'): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, a] of tensors) {
    let bytes: Uint8Array;
    if (a.dtype === 'float32') {
      const h = Uint16Array.from(a.data as Float32Array, (x) => (dtype === 'F16' ? toHalfBits(x) : bf16Bits(x)));
      bytes = new Uint8Array(h.buffer);
    } else {
      bytes = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
    }
    header[name] = { dtype: a.dtype === 'float32' ? dtype : 'I64', shape: a.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let text = JSON.stringify(header);
  while (text.length % 8 !== 0) text += ' ';
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigUint64(0, BigInt(text.length), true);
  writeFileSync(path, Buffer.concat([head, Buffer.from(text), ...chunks]));
}
