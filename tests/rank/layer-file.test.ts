import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { layerFilesIn, readLayerFile } from '../../src/rank/layer-file.js';
import { assertFails, rankFixture } from './helpers.js';

/** Trained layers written by scripts/fixtures/make_rank_layer_fixtures.py (PyTorch). */
const layer = (name: string): string => rankFixture(`layers/${name}`);
interface Expected {
  readonly shape: [number, number];
  readonly weight: number[];
  readonly bias?: number[];
}
const expected = JSON.parse(readFileSync(layer('expected.json'), 'utf8')) as Record<string, Expected>;
const f32 = (xs: readonly number[]): number[] => Array.from(Float32Array.from(xs));

const work = mkdtempSync(join(tmpdir(), 'protdistil-layer-file-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('readLayerFile: trained layers as PyTorch and NumPy users save them', () => {
  it('reads torch.save(linear.state_dict()) of a non-square Linear exactly, named by the file stem', () => {
    const l = readLayerFile(layer('wide.pt'));
    const e = expected.wide!;
    assert.equal(l.name, 'wide');
    assert.deepEqual([l.outFeatures, l.inFeatures], e.shape);
    assert.deepEqual([l.outFeatures, l.inFeatures], [24, 16]);
    assert.deepEqual(Array.from(l.weight), f32(e.weight));
    assert.deepEqual(Array.from(l.bias), f32(e.bias!));
    assert.equal(l.hasBias, true);
  });

  it('reads the same layer from .safetensors and .npz, and the weight alone from .npy (zero bias)', () => {
    const e = expected.wide!;
    for (const file of ['wide.safetensors', 'wide.npz']) {
      const l = readLayerFile(layer(file));
      assert.deepEqual(Array.from(l.weight), f32(e.weight), file);
      assert.deepEqual(Array.from(l.bias), f32(e.bias!), file);
    }
    const npy = readLayerFile(layer('wide.npy'));
    assert.deepEqual(Array.from(npy.weight), f32(e.weight));
    assert.equal(npy.hasBias, false);
    assert.ok(npy.bias.every((v) => v === 0) && npy.bias.length === 24);
  });

  it('takes a state dict without bias (bias = zeros) and tensors that are views with a storage offset', () => {
    const narrow = readLayerFile(layer('narrow.pt'));
    assert.deepEqual([narrow.outFeatures, narrow.inFeatures], [6, 16]);
    assert.equal(narrow.hasBias, false);
    assert.deepEqual(Array.from(narrow.weight), f32(expected.narrow!.weight));
    const view = readLayerFile(layer('view.pt'));
    assert.deepEqual([view.outFeatures, view.inFeatures], [10, 16]);
    assert.deepEqual(Array.from(view.weight), f32(expected.view!.weight));
    assert.deepEqual(Array.from(view.bias), f32(expected.view!.bias!));
  });

  it("picks one layer of a module's state dict by --layer-key, and lists the layers when none is named", () => {
    const l = readLayerFile(layer('classifier.pt'), { key: '0' });
    assert.deepEqual([l.outFeatures, l.inFeatures], [32, 16]);
    assert.deepEqual(Array.from(l.weight), f32(expected['classifier.0']!.weight));
    assert.deepEqual(Array.from(l.bias), f32(expected['classifier.0']!.bias!));
    assert.equal(l.key, '0');
    assertFails(() => readLayerFile(layer('classifier.pt')), 'data', "no tensor 'weight'", "layers in the file: '0', '2' (choose one with --layer-key)");
    assertFails(() => readLayerFile(layer('classifier.pt'), { key: 'head' }), 'data', "no tensor 'head.weight'");
  });

  it('rejects hostile, mis-shaped, non-float and non-finite files with one clear error each', () => {
    const bad = (name: string): string => layer(`bad/${name}`);
    assertFails(() => readLayerFile(bad('hostile.pt')), 'checkpoint', '--layer: ', "refusing to load global 'os.system'");
    assertFails(() => readLayerFile(bad('empty.pt')), 'checkpoint', 'empty file');
    assertFails(() => readLayerFile(bad('bias-mismatch.pt')), 'data', 'bias has shape [7] but the weight [8, 16] needs a bias of shape [8]');
    assertFails(() => readLayerFile(bad('nan-weight.pt')), 'data', 'weight has 2 non-finite value(s); the first is NaN at row 3, column 5');
    assertFails(() => readLayerFile(bad('inf-bias.npz')), 'data', 'bias has 1 non-finite value(s); the first is -Infinity at index 2');
    assertFails(() => readLayerFile(bad('int-weight.pt')), 'data', 'weight must be floating point, got int64');
    assertFails(() => readLayerFile(bad('weight-3d.safetensors')), 'data', 'weight must be 2-D (out_features, in_features), got shape [2, 4, 16] (3-D)');
    assertFails(() => readLayerFile(bad('vector.npy')), 'data', 'weight must be 2-D');
    assertFails(() => readLayerFile(bad('extra.pt')), 'data', "unexpected tensor(s) ('head.weight')", "layers in the file: 'head'");
    assertFails(() => readLayerFile(bad('one-out.pt')), 'data', 'a 1 x 16 layer has no low-rank factorisation');
    assertFails(() => readLayerFile(layer('expected.json')), 'config', "unknown layer file type '.json'");
    assertFails(() => readLayerFile(layer('wide.npy'), { key: 'x' }), 'config', 'a .npy file holds one unnamed weight');
    assertFails(() => readLayerFile(join(work, 'missing.pt')), 'io', 'cannot open');
    const oddName = join(work, 'my layer.npy');
    writeFileSync(oddName, readFileSync(layer('wide.npy')));
    assertFails(() => readLayerFile(oddName), 'config', "the file stem 'my layer'");
  });

  it('lists the layer files of a directory in name order, and rejects one without any', () => {
    assert.deepEqual(layerFilesIn(rankFixture('layers')).map((p) => p.split('/').pop()), ['classifier.pt', 'narrow.pt', 'view.pt', 'wide.npy', 'wide.npz', 'wide.pt', 'wide.safetensors']);
    const empty = mkdtempSync(join(work, 'empty-'));
    writeFileSync(join(empty, 'notes.txt'), 'not a layer');
    assertFails(() => layerFilesIn(empty), 'config', 'holds no layer files');
    assertFails(() => layerFilesIn(layer('wide.pt')), 'config', 'not a directory');
  });
});
