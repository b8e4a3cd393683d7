import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileStem } from '../../src/extract/file-names.js';
import { extractEmbeddings, type ExtractOptions } from '../../src/extract/pipeline.js';
import { readStoredMean, RESULT_EXTENSION, type OutputFormat } from '../../src/extract/result-files.js';
import { findShardStacks, mergeStacks, readStack } from '../../src/extract/stack.js';
import { loadFairEsm } from '../../src/io/esm/fair-esm.js';
import { loadHfEsm } from '../../src/io/esm/hugging-face.js';
import type { LoadedEsm } from '../../src/io/esm/loaded.js';
import { parseNpy } from '../../src/io/npy.js';
import { isHostArray, readPt, type PtValue } from '../../src/io/pt-reader.js';
import { RandomAccessFile } from '../../src/io/random-access-file.js';
import { SafetensorsReader } from '../../src/io/safetensors.js';
import { ZipReader } from '../../src/io/zip-reader.js';
import type { HostArray } from '../../src/tensor/host-array.js';
import { checkpointPaths, deviation, refArray, type FixtureModel } from '../models/esm/fixtures.js';
import { assertRejects, tempDir, writeFixtureFasta } from './helpers.js';

/**
 * The extraction pipeline on the reference fixtures: every format holds what extract.py writes
 * (checked against fair-esm's arrays), runs resume, shards merge to the unsharded result, and bad
 * input fails before anything is written.
 */

const { dir, cleanup } = tempDir();
after(cleanup);
const fasta = join(dir, 'fixture.fasta');
const records = writeFixtureFasta(fasta, ['main', 'long']);

/** Every array of a result file by flat name (`mean_representations.3`, `contacts`, …) and the label. */
function readResult(path: string, format: OutputFormat): { label: string | null; arrays: Map<string, HostArray> } {
  const arrays = new Map<string, HostArray>();
  if (format === 'pt') {
    const top = readPt(path) as Map<PtValue, PtValue>;
    for (const [k, v] of top) {
      if (isHostArray(v)) arrays.set(String(k), v);
      else if (v instanceof Map) for (const [l, a] of v) arrays.set(`${String(k)}.${String(l)}`, a as HostArray);
    }
    return { label: top.get('label') as string, arrays };
  }
  if (format === 'safetensors') {
    const r = SafetensorsReader.open(path);
    try {
      for (const n of r.names) arrays.set(n, r.read(n));
      return { label: r.metadata?.label ?? null, arrays };
    } finally {
      r.close();
    }
  }
  return RandomAccessFile.with(path, (m) => new Error(m) as never, (file) => {
    const zip = ZipReader.open(file);
    for (const [name, e] of zip.entries) arrays.set(name.replace(/\.npy$/, ''), parseNpy(zip.read(e)));
    return { label: null, arrays };
  });
}

function assertWithin(what: string, ours: ArrayLike<number>, ref: ArrayLike<number>): void {
  const d = deviation(ours, ref);
  assert.ok(d.ratio <= 1, `${what}: max |Δ| ${d.maxAbs} > ${d.threshold}`);
}

const ALL: ExtractOptions = { reprLayers: [0, 1, -1], include: ['mean', 'per_tok', 'bos', 'contacts', 'logits'] };

for (const [model, format] of [['esm2_t3_tiny', 'pt'], ['esm1b_t3_tiny', 'safetensors'], ['esm2_t3_tiny', 'npy']] as const) {
  describe(`${model}, --format ${format}`, () => {
    const out = join(dir, `${model}-${format}`);
    let loaded: LoadedEsm;
    before(() => {
      loaded = format === 'safetensors' ? loadHfEsm(checkpointPaths(model).hf) : loadFairEsm(checkpointPaths(model).pt);
    });

    it('writes one file per sequence with extract.py semantics, matching fair-esm', async () => {
      const s = await extractEmbeddings(loaded.model, fasta, out, { ...ALL, format, toksPerBatch: 100 });
      assert.equal(s.computed, records.length);
      assert.equal(s.skipped, 0);
      for (const rec of records) {
        const path = join(out, `${rec.label}${RESULT_EXTENSION[format]}`);
        const { label, arrays } = readResult(path, format);
        if (format !== 'npy') assert.equal(label, rec.label);
        const tl = Math.min(1022, rec.sequence.length);
        assert.deepEqual([...arrays.keys()].sort(), [
          'bos_representations.0', 'bos_representations.1', 'bos_representations.3', 'contacts', 'logits',
          'mean_representations.0', 'mean_representations.1', 'mean_representations.3',
          'representations.0', 'representations.1', 'representations.3',
        ]);
        assert.deepEqual(arrays.get('representations.3')?.shape, [tl, 48]);
        assert.deepEqual(arrays.get('logits')?.shape, [tl, 33]);
        assert.deepEqual(arrays.get('contacts')?.shape, [tl, tl]);
        assert.deepEqual(arrays.get('mean_representations.1')?.shape, [48]);
        for (const l of [0, 1, 3]) {
          const mean = refArray(model as FixtureModel, rec.batch, `mean_repr_layer_${l}`);
          const bos = refArray(model as FixtureModel, rec.batch, `bos_repr_layer_${l}`);
          assertWithin(`${rec.label} mean ${l}`, arrays.get(`mean_representations.${l}`)?.data as Float32Array, (mean.data as Float32Array).subarray(rec.row * 48, (rec.row + 1) * 48));
          assertWithin(`${rec.label} bos ${l}`, arrays.get(`bos_representations.${l}`)?.data as Float32Array, (bos.data as Float32Array).subarray(rec.row * 48, (rec.row + 1) * 48));
        }
        if (rec.batch !== 'main') continue;
        // Per-token rows, logits and the contact block against the batched reference arrays.
        const T = 40;
        const rep = refArray(model as FixtureModel, 'main', 'repr_layer_3');
        assertWithin(`${rec.label} per_tok`, arrays.get('representations.3')?.data as Float32Array, (rep.data as Float32Array).subarray((rec.row * T + 1) * 48, (rec.row * T + 1 + tl) * 48));
        const logits = refArray(model as FixtureModel, 'main', 'logits');
        assertWithin(`${rec.label} logits`, arrays.get('logits')?.data as Float32Array, (logits.data as Float32Array).subarray((rec.row * T + 1) * 33, (rec.row * T + 1 + tl) * 33));
        const contacts = refArray(model as FixtureModel, 'main', 'contacts');
        const block = new Float32Array(tl * tl);
        for (let i = 0; i < tl; i++) block.set((contacts.data as Float32Array).subarray((rec.row * 38 + i) * 38, (rec.row * 38 + i) * 38 + tl), i * tl);
        assertWithin(`${rec.label} contacts`, arrays.get('contacts')?.data as Float32Array, block);
      }
      const manifest = readFileSync(s.manifest, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { label: string; file: string });
      assert.deepEqual(manifest.map((m) => m.label), records.map((r) => r.label));
    });

    it('skips existing files, so a second run computes nothing and a deleted file is redone', async () => {
      const again = await extractEmbeddings(loaded.model, fasta, out, { ...ALL, format });
      assert.equal(again.computed, 0);
      assert.equal(again.skipped, records.length);
      const victim = join(out, `seq2${RESULT_EXTENSION[format]}`);
      const before = readFileSync(victim);
      rmSync(victim);
      const third = await extractEmbeddings(loaded.model, fasta, out, { ...ALL, format });
      assert.equal(third.computed, 1);
      assert.ok(existsSync(victim));
      const m = readStoredMean(victim, format, 3);
      assert.ok(m !== null && m.length === 48);
      // Written from the same arrays: the re-done file decodes to the same values.
      assert.equal(readFileSync(victim).length, before.length);
    });
  });
}

describe('stacked means, shards and merge', () => {
  let loaded: LoadedEsm;
  before(() => {
    loaded = loadFairEsm(checkpointPaths('esm2_t3_tiny').pt);
  });

  it('--stack writes [N, E] in FASTA order with labels; shards merge to the same matrix', async () => {
    const whole = join(dir, 'stack-whole');
    const s = await extractEmbeddings(loaded.model, fasta, whole, { stack: { layer: -1, out: join(whole, 'emb.npy') } });
    assert.ok(s.stack !== null);
    const ref = readStack(s.stack.path);
    assert.deepEqual(ref.matrix.shape, [records.length, 48]);
    assert.deepEqual(ref.labels, records.map((r) => r.label));
    const mean = refArray('esm2_t3_tiny', 'main', 'mean_repr_layer_3');
    assertWithin('stacked rows 0-3', (ref.matrix.data as Float32Array).subarray(0, 4 * 48), mean.data as Float32Array);

    const sharded = join(dir, 'stack-sharded');
    const out = join(sharded, 'emb.safetensors');
    const ranges: [number, number][] = [];
    for (const index of [3, 1, 2]) {
      const r = await extractEmbeddings(loaded.model, fasta, sharded, { shard: { index, count: 3 }, stack: { layer: 3, out }, format: 'safetensors' });
      ranges[index - 1] = [r.start, r.end];
      assert.equal(r.stack?.path, join(sharded, `emb.shard-${index}-of-3.safetensors`));
    }
    assert.deepEqual(ranges, [[0, 1], [1, 3], [3, 5]]);
    assert.equal(readdirSync(sharded).filter((f) => f.endsWith('.safetensors') && !f.startsWith('emb')).length, records.length);
    const shards = findShardStacks(out);
    assert.equal(shards.length, 3);
    mergeStacks(out, shards);
    const merged = readStack(out);
    assert.deepEqual(merged.labels, ref.labels);
    assert.deepEqual(Array.from(merged.matrix.data as Float32Array), Array.from(ref.matrix.data as Float32Array));

    // A resumed stacked run reads the stored means back instead of recomputing.
    const resumed = await extractEmbeddings(loaded.model, fasta, whole, { stack: { layer: -1, out: join(whole, 'emb.pt') } });
    assert.equal(resumed.computed, 0);
    const again = readStack(join(whole, 'emb.pt'));
    assert.deepEqual(Array.from(again.matrix.data as Float32Array), Array.from(ref.matrix.data as Float32Array));
  });

  it('a missing shard, or shards of different counts, stop the merge', () => {
    const d = join(dir, 'stack-sharded');
    const out = join(d, 'emb.safetensors');
    const extra = join(d, 'emb.shard-1-of-2.safetensors');
    copyFileSync(join(d, 'emb.shard-1-of-3.safetensors'), extra);
    assert.throws(() => findShardStacks(out), /different counts/);
    rmSync(extra);
    rmSync(join(d, 'emb.shard-2-of-3.safetensors'));
    assert.throws(() => findShardStacks(out), /shards 2 of 3 are missing/);
  });

  it('batching by a small token budget, in small windows, gives the same vectors as one big batch', async () => {
    const a = await extractEmbeddings(loaded.model, fasta, join(dir, 'budget-a'), { toksPerBatch: 30, windowResidues: 40, stack: { layer: 2, out: join(dir, 'budget-a', 'e.npy') } });
    const b = await extractEmbeddings(loaded.model, fasta, join(dir, 'budget-b'), { toksPerBatch: 1 << 20, stack: { layer: 2, out: join(dir, 'budget-b', 'e.npy') } });
    const ma = readStack(a.stack!.path).matrix.data as Float32Array;
    const mb = readStack(b.stack!.path).matrix.data as Float32Array;
    assertWithin('budget', ma, mb);
  });
});

describe('bad input fails early with a clear error', () => {
  let loaded: LoadedEsm;
  before(() => {
    loaded = loadFairEsm(checkpointPaths('esm2_t3_tiny').pt);
  });

  it('an unknown character names the label, the character and its position, and nothing is written', async () => {
    const bad = join(dir, 'bad.fasta');
    writeFileSync(bad, '>ok\nMKV\n>broken one\nMKJV\n');
    const out = join(dir, 'bad-out');
    await assertRejects(() => extractEmbeddings(loaded.model, bad, out), 'data', '"broken one"', '"J"', 'position 2');
    assert.ok(!existsSync(out));
    // Opt-in mapping to <unk>.
    const s = await extractEmbeddings(loaded.model, bad, out, { unknown: 'unk' });
    assert.equal(s.computed, 2);
  });

  it('duplicate labels, bad layers, ESM-1b over-long truncation and contacts without regression weights', async () => {
    const dup = join(dir, 'dup.fasta');
    writeFileSync(dup, '>a\nMKV\n>a\nMKV\n');
    await assertRejects(() => extractEmbeddings(loaded.model, dup, join(dir, 'dup-out')), 'data', 'duplicate label "a"');
    await assertRejects(() => extractEmbeddings(loaded.model, fasta, join(dir, 'x'), { reprLayers: [4] }), 'config', 'representation layer 4', '-4 … 3');
    await assertRejects(() => extractEmbeddings(loaded.model, fasta, join(dir, 'x'), { include: ['mean', 'everything' as 'mean'] }), 'config', "unknown kind 'everything'");
    const esm1b = loadFairEsm(checkpointPaths('esm1b_t3_tiny').pt);
    await assertRejects(() => extractEmbeddings(esm1b.model, fasta, join(dir, 'x'), { truncationSeqLength: 2000 }), 'config', 'at most 1022 residues');
    const lone = join(dir, 'lone');
    rmSync(lone, { recursive: true, force: true });
    copyFileSync(checkpointPaths('esm2_t3_tiny').pt, join(dir, 'esm2_lone.pt'));
    const noRegression = loadFairEsm(join(dir, 'esm2_lone.pt'));
    assert.equal(noRegression.hasContactHead, false);
    await assertRejects(() => extractEmbeddings(noRegression.model, fasta, lone, { include: ['contacts'] }), 'config', 'contact regression');
  });

  it('an empty sequence yields empty per-token arrays and a NaN mean, as torch does', async () => {
    const f = join(dir, 'empty.fasta');
    writeFileSync(f, '>empty\n\n>x\nMKV\n');
    const out = join(dir, 'empty-out');
    await extractEmbeddings(loaded.model, f, out, { include: ['mean', 'per_tok', 'contacts'], format: 'safetensors' });
    const { arrays } = readResult(join(out, 'empty.safetensors'), 'safetensors');
    assert.deepEqual(arrays.get('representations.3')?.shape, [0, 48]);
    assert.deepEqual(arrays.get('contacts')?.shape, [0, 0]);
    assert.ok(Number.isNaN((arrays.get('mean_representations.3')?.data as Float32Array)[0]));
  });
});

describe('output file names', () => {
  it('keeps safe labels, and makes others safe and distinct', () => {
    assert.equal(fileStem('sp_P12345_HUMAN'), 'sp_P12345_HUMAN');
    assert.equal(fileStem('seq 1 (variant)'), 'seq 1 (variant)');
    const a = fileStem('sp|P12345|A/B');
    const b = fileStem('sp_P12345_A_B');
    assert.match(a, /^sp_P12345_A_B~[0-9a-f]{10}$/);
    assert.notEqual(a, b);
    for (const l of ['..', '.hidden', 'CON', 'nul.txt', 'a\tb', 'x'.repeat(400), 'é'.repeat(150)]) {
      const s = fileStem(l);
      assert.ok(!s.includes('/') && !s.startsWith('.') && Buffer.byteLength(s) <= 200, `${l} -> ${s}`);
      assert.notEqual(s, l);
    }
  });

  it('files land under the safe name', async () => {
    const f = join(dir, 'names.fasta');
    writeFileSync(f, '>sp|Q1|X Y/Z\nMKV\n');
    const out = join(dir, 'names-out');
    const loaded = loadFairEsm(checkpointPaths('esm2_t3_tiny').pt);
    await extractEmbeddings(loaded.model, f, out);
    const files = readdirSync(out).filter((n) => n.endsWith('.pt'));
    assert.deepEqual(files, [`${fileStem('sp|Q1|X Y/Z')}.pt`]);
    assert.ok(statSync(join(out, files[0] as string)).size > 0);
  });
});
