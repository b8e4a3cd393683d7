import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProtdistilError } from '../../src/errors.js';
import { parseEsmConfig } from '../../src/models/esm/config.js';
import { Esm2 } from '../../src/models/esm/esm2.js';
import { Embedding } from '../../src/nn/embedding.js';
import { LayerNorm } from '../../src/nn/layer-norm.js';
import { Linear } from '../../src/nn/linear.js';
import { Module } from '../../src/nn/module.js';
import { loadModule, saveModule } from '../../src/nn/serialization.js';
import { Rng } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';

class Net extends Module {
  readonly emb = new Embedding(5, 4, { rng: new Rng(1), paddingIdx: 1 });
  readonly blocks = [new Linear(4, 4, { rng: new Rng(2) }), new Linear(4, 3, { rng: new Rng(3), bias: false })];
  readonly norm = new LayerNorm(3);
}

test('parameters are discovered by walking fields into dotted names', () => {
  const n = new Net();
  assert.deepEqual(n.namedParameters().map(([k]) => k), ['emb.weight', 'blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight', 'norm.weight', 'norm.bias']);
  assert.equal(n.numParameters(), 20 + 16 + 4 + 12 + 3 + 3);
  assert.deepEqual(n.namedModules().map(([k]) => k), ['', 'emb', 'blocks.0', 'blocks.1', 'norm']);
});

test('freeze/unfreeze and train/eval reach every sub-module', () => {
  const n = new Net();
  n.freeze();
  assert.equal(n.trainableParameters().length, 0);
  n.blocks[0]!.unfreeze();
  assert.deepEqual(n.trainableParameters().map(([k]) => k), ['blocks.0.weight', 'blocks.0.bias']);
  n.eval();
  assert.ok(n.namedModules().every(([, m]) => !m.training));
  n.train();
  assert.ok(n.namedModules().every(([, m]) => m.training));
});

test('Linear init follows PyTorch bounds; Embedding keeps the padding row at zero', () => {
  const lin = new Linear(64, 32, { rng: new Rng(5) });
  const w = lin.weight.node.realized as Float32Array;
  const bound = 1 / 8;
  assert.ok(w.every((v) => Math.abs(v) <= bound));
  assert.ok(Math.max(...w) > 0.9 * bound && Math.min(...w) < -0.9 * bound, 'uses the full range');
  const e = new Embedding(5, 4, { rng: new Rng(1), paddingIdx: 1 });
  assert.deepEqual(Array.from((e.weight.node.realized as Float32Array).subarray(4, 8)), [0, 0, 0, 0]);
});

test('strict loadStateDict reports every missing, unexpected and mis-shaped key at once and changes nothing', () => {
  const n = new Net();
  const sd = n.stateDict();
  const before = Array.from(n.norm.weight.node.realized as Float32Array);
  sd.delete('blocks.0.bias');
  sd.set('extra.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
  sd.set('norm.weight', { dtype: 'float32', shape: [4], data: new Float32Array(4).fill(7) });
  assert.throws(() => n.loadStateDict(sd), (e) => isProtdistilError(e, 'checkpoint') && e.message.includes('blocks.0.bias') && e.message.includes('extra.weight') && e.message.includes('norm.weight'));
  assert.deepEqual(Array.from(n.norm.weight.node.realized as Float32Array), before);
});

test('safetensors save/load round-trips a model exactly and outputs match', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pd-module-'));
  const cfg = parseEsmConfig({ arch: 'esm2', numLayers: 1, embedDim: 16, attentionHeads: 2, ffnDim: 32, tokenDropout: true });
  const a = new Esm2(cfg, new Rng(1));
  const b = new Esm2(cfg, new Rng(2));
  const path = join(dir, 'model.safetensors');
  saveModule(a, path, { format: 'pt' });
  loadModule(b, path);
  const toks = Tensor.from([0, 5, 6, 7, 2], [1, 5], 'int64');
  const la = (await a.forward(toks).logits.toArray()) as Float32Array;
  const lb = (await b.forward(toks).logits.toArray()) as Float32Array;
  assert.deepEqual(Array.from(lb), Array.from(la));
});

test('loading a file that does not fit names the offending keys; a corrupt file is a checkpoint error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pd-module-'));
  const path = join(dir, 'net.safetensors');
  saveModule(new Net(), path);
  const other = new Esm2(parseEsmConfig({ arch: 'esm2', numLayers: 1, embedDim: 16, attentionHeads: 2, ffnDim: 32, tokenDropout: false }), new Rng(1));
  assert.throws(() => loadModule(other, path), (e) => isProtdistilError(e, 'checkpoint') && e.message.includes('missing') && e.message.includes('unexpected'));
  const bad = join(dir, 'bad.safetensors');
  writeFileSync(bad, Buffer.from('not a safetensors file'));
  assert.throws(() => loadModule(new Net(), bad), (e) => isProtdistilError(e, 'checkpoint'));
});
