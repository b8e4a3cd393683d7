import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { IGNORE_INDEX } from '../../src/data/masking.js';
import { MlmStream } from '../../src/data/mlm-stream.js';
import { loadSequenceSet } from '../../src/data/sequence-set.js';
import { fileSha256 } from '../../src/data/sequence-set.js';
import { MANIFEST_FILE, mergeShards } from '../../src/distill/cache-manifest.js';
import { shardFileName, ShardReader } from '../../src/distill/cache-shard.js';
import { labelShard, type LabelOptions } from '../../src/distill/label-run.js';
import { TeacherCache } from '../../src/distill/teacher-cache.js';
import { LiveTeacher } from '../../src/distill/teacher.js';
import { parseEsmConfig } from '../../src/models/esm/config.js';
import { createEsmModel } from '../../src/models/esm/model.js';
import { Rng } from '../../src/tensor/random.js';
import { assertFails, assertRejects } from '../helpers/errors.js';
import { randomProteins, tempDir, writeFasta } from './helpers.js';

const { dir, cleanup } = tempDir('protdistil-cache-');
after(cleanup);
const fasta = writeFasta(join(dir, 'seqs.fasta'), randomProteins(14, 5, 10, 60));
// A random teacher with PyTorch-style init: N(0, 1) embeddings give logits spread over several units.
const cfg = parseEsmConfig({ arch: 'esm2', numLayers: 2, embedDim: 16, attentionHeads: 2, ffnDim: 64, tokenDropout: false });
const teacher = await LiveTeacher.fromModel(createEsmModel(cfg, new Rng(11)), 'tiny teacher', 'fingerprint-of-tiny');
const V = cfg.vocabSize;
const CROP = 40;
/** One row per teacher batch (toks-per-batch = crop + 2): the label batches are the rows of batch-size-1 training batches. */
const base: LabelOptions = { masks: 2, seed: 3, crop: CROP, maskProb: 0.15, shard: null, toksPerBatch: CROP + 2, dtype: 'float32', unknownAsUnk: false, teacherMaxTokens: 1026 };
const set = await loadSequenceSet(fasta);
const streamOf = (batchSize: number, maskCycle?: number): MlmStream => new MlmStream(set, { seed: 3, crop: CROP, maskProb: 0.15, batchSize, ...(maskCycle === undefined ? {} : { maskCycle }) });

const whole = join(dir, 'whole');
const labelled = await labelShard(teacher, fasta, whole, base);
// Three shards labelled independently, then merged. Every top-level await comes before the first
// test() call: tests start as soon as they are declared, and the file's cleanup must not run while
// a labelling here is still writing.
const sharded = join(dir, 'sharded');
for (const index of [3, 1, 2]) await labelShard(teacher, fasta, sharded, { ...base, shard: { index, count: 3 } });

/** Largest |a − b| at the batch's masked positions, and whether every other position of `cached` is 0. */
function compare(cached: Float32Array, live: Float32Array, targets: BigInt64Array): { worst: number; zerosElsewhere: boolean; masked: number } {
  let worst = 0;
  let zerosElsewhere = true;
  let masked = 0;
  for (let p = 0; p < targets.length; p++) {
    const isMasked = targets[p] !== BigInt(IGNORE_INDEX);
    if (isMasked) masked++;
    for (let v = 0; v < V; v++) {
      const k = p * V + v;
      if (isMasked) worst = Math.max(worst, Math.abs(cached[k]! - live[k]!));
      else if (cached[k] !== 0) zerosElsewhere = false;
    }
  }
  return { worst, zerosElsewhere, masked };
}

test('label writes one shard and its manifest; the footer records what the cache is of', async () => {
  assert.equal(labelled.skipped, false);
  assert.deepEqual(readdirSync(whole).sort(), [MANIFEST_FILE, shardFileName(1, 1)]);
  const id = labelled.footer.identity;
  assert.equal(id.teacher, 'fingerprint-of-tiny');
  assert.equal(id.fasta, await fileSha256(fasta));
  assert.deepEqual([id.sequences, id.seed, id.crop, id.maskProb, id.masks, id.dtype], [14, 3, CROP, 0.15, 2, 'float32']);
  const rowsTotal = set.ids.reduce((n, ids) => n + Math.min(ids.length, CROP) + 2, 0);
  assert.equal(labelled.footer.tokens, 2 * rowsTotal);
  // Payload = positions × (4 bytes of position + V float32 logits).
  assert.equal(labelled.footer.payloadBytes, labelled.footer.positions * (4 + 4 * V));
  const again = await labelShard(teacher, fasta, whole, base);
  assert.equal(again.skipped, true, 'a re-run with the same settings finds its shard done');
});

test('the cache gives the live teacher\'s exact logits at the masked positions of batch-size-1 batches, 0 elsewhere, over epochs past K', async () => {
  const cache = TeacherCache.open(whole);
  const stream = streamOf(1, cache.useMaskCycle(undefined));
  let masked = 0;
  for (const epoch of [0, 1, 2, 3]) {
    for (let i = 0; i < stream.batchesPerEpoch(); i++) {
      const batch = stream.batch(epoch, i);
      const c = compare((await cache.logits(batch)).data as Float32Array, (await teacher.logits(batch)).data as Float32Array, batch.targets.data as BigInt64Array);
      assert.equal(c.worst, 0, `epoch ${epoch} batch ${i}: bit-identical logits`);
      assert.ok(c.zerosElsewhere);
      masked += c.masked;
    }
  }
  assert.ok(masked > 100, `${masked} masked positions compared`);
  cache.close();
});

test('with several rows per batch the cached logits match the live teacher to float32 rounding (other padding, other summation order)', async () => {
  const cache = TeacherCache.open(whole);
  const stream = streamOf(5, 2);
  let worst = 0;
  for (const epoch of [0, 1]) {
    for (let i = 0; i < stream.batchesPerEpoch(); i++) {
      const batch = stream.batch(epoch, i);
      const c = compare((await cache.logits(batch)).data as Float32Array, (await teacher.logits(batch)).data as Float32Array, batch.targets.data as BigInt64Array);
      assert.ok(c.zerosElsewhere);
      worst = Math.max(worst, c.worst);
    }
  }
  assert.ok(worst < 1e-5, `worst |Δ logit| ${worst}`);
  cache.close();
});

test('a batch whose masks differ from the cached ones is a data error, not silent training on wrong labels', async () => {
  const cache = TeacherCache.open(whole);
  const other = new MlmStream(set, { seed: 4, crop: CROP, maskProb: 0.15, batchSize: 4 });
  await assertRejects(() => cache.logits(other.batch(0, 0)), 'data', /sequence \d+, mask draw 0: the cached masked positions differ from this run's masks/);
  assertFails(() => cache.useMaskCycle(3), 'config', '--mask-cycle 3 needs 3 mask draws', 'holds 2', '--masks 3');
  assert.equal(cache.useMaskCycle(1), 1, 'fewer draws than the cache holds is allowed');
  const run = { train: fasta, trainSha256: await fileSha256(fasta), sequences: 14, unknownAsUnk: false, seed: 3, crop: CROP, maskProb: 0.15 };
  cache.checkRun(run);
  assertFails(() => cache.checkRun({ ...run, seed: 4 }), 'config', '--seed: cache 3 vs run 4');
  assertFails(() => cache.checkRun({ ...run, crop: 30, maskProb: 0.2 }), 'config', '--crop: cache 40 vs run 30', '--mask-prob: cache 0.15 vs run 0.2');
  assertFails(() => cache.checkRun({ ...run, train: 'other.fasta', trainSha256: 'f'.repeat(64), sequences: 9 }), 'config', 'FASTA (SHA-256)', 'number of sequences: cache 14 vs run 9', '--train is other.fasta');
  cache.close();
});

test('shards labelled independently merge into a cache with the same entries as an unsharded run', () => {
  assert.deepEqual(readdirSync(sharded).sort(), [1, 2, 3].map((i) => shardFileName(i, 3)), 'no manifest before label-merge');
  assertFails(() => TeacherCache.open(sharded), 'config', 'holds shards but no cache.json', 'label-merge');
  const { manifest, unchanged } = mergeShards(sharded);
  assert.equal(unchanged, false);
  assert.deepEqual(manifest.shards.map((s) => [s.index, s.start, s.end]), [[1, 0, 4], [2, 4, 9], [3, 9, 14]]);
  assert.equal(manifest.key, labelled.footer.key, 'sharding is not part of the key');
  assert.equal(manifest.positions, labelled.footer.positions);
  assert.equal(mergeShards(sharded).unchanged, true, 'merging again is a no-op');
  const one = ShardReader.open(join(whole, shardFileName(1, 1)));
  const parts = manifest.shards.map((s) => ShardReader.open(join(sharded, s.file)));
  for (let i = 0; i < 14; i++) {
    for (const d of [0, 1]) assert.deepEqual(parts.find((p) => i >= p.footer.shard.start && i < p.footer.shard.end)!.entry(i, d), one.entry(i, d), `entry (${i}, ${d})`);
  }
  for (const r of [one, ...parts]) r.close();
});

/** A copy of the sharded cache's shard files (no manifest) with `edit` applied. */
function variant(name: string, edit: (d: string) => void): string {
  const d = join(dir, name);
  mkdirSync(d);
  for (const f of readdirSync(sharded).filter((f) => f.endsWith('.logits'))) copyFileSync(join(sharded, f), join(d, f));
  edit(d);
  return d;
}

test('merge: a missing, duplicated, truncated or damaged shard is a one-line error and no manifest is written', () => {
  const f2 = shardFileName(2, 3);
  const cases: [string, (d: string) => void, 'data' | 'config', RegExp][] = [
    ['missing', (d) => unlinkSync(join(d, f2)), 'data', /lacks shard 2\/3 \(expected shard-00002-of-00003\.logits\); label it with --shard 2\/3 and merge again/],
    ['empty', (d) => truncateSync(join(d, f2), 0), 'data', /shard-00002-of-00003\.logits is not a complete teacher-logit shard: only 0 bytes/],
    ['duplicate', (d) => copyFileSync(join(d, f2), join(d, 'copy-of-2.logits')), 'config', /shard 2\/3 appears twice in .*: copy-of-2\.logits and shard-00002-of-00003\.logits; keep one/],
    ['truncated-tail', (d) => truncateSync(join(d, f2), statSync(join(d, f2)).size - 1), 'data', /shard-00002-of-00003\.logits is not a complete teacher-logit shard: its end marker is missing \(truncated/],
    ['truncated-half', (d) => truncateSync(join(d, f2), Math.floor(statSync(join(d, f2)).size / 2)), 'data', /not a complete teacher-logit shard/],
    ['damaged', (d) => {
      const p = join(d, f2);
      const bytes = readFileSync(p);
      bytes[10] = bytes[10]! ^ 0xff;
      writeFileSync(p, bytes);
    }, 'data', /shard-00002-of-00003\.logits: its logits do not match the checksum in its footer/],
  ];
  for (const [name, edit, code, want] of cases) {
    const d = variant(name, edit);
    assertFails(() => mergeShards(d), code, want);
    assert.ok(!readdirSync(d).includes(MANIFEST_FILE), `${name}: no manifest`);
  }
});

test('merge: shards of different runs or splits do not mix; an existing different manifest is never overwritten', async () => {
  const mixed = variant('mixed-key', () => undefined);
  const other = join(dir, 'other-seed');
  await labelShard(teacher, fasta, other, { ...base, seed: 4, shard: { index: 2, count: 3 } });
  copyFileSync(join(other, shardFileName(2, 3)), join(mixed, 'from-other-run.logits'));
  assertFails(() => mergeShards(mixed), 'config', /come from different labelling runs \(--seed: [34] vs [34]\); a cache joins shards of one run only/);

  const split = variant('mixed-split', () => undefined);
  await labelShard(teacher, fasta, join(dir, 'halves'), { ...base, shard: { index: 1, count: 2 } });
  copyFileSync(join(dir, 'halves', shardFileName(1, 2)), join(split, shardFileName(1, 2)));
  assertFails(() => mergeShards(split), 'config', /is shard \d\/\d but .* is shard \d\/\d: shards of one cache share one split/);

  const kept = variant('kept-manifest', (d) => writeFileSync(join(d, MANIFEST_FILE), '{"something":"else"}\n'));
  assertFails(() => mergeShards(kept), 'config', 'already describes another cache or shard set; nothing was overwritten');
  assert.equal(readFileSync(join(kept, MANIFEST_FILE), 'utf8'), '{"something":"else"}\n');
});

test('label refuses to add to a directory of another run or split, and never overwrites', async () => {
  const before = readFileSync(join(sharded, shardFileName(1, 3)));
  const unmerged = variant('unmerged', () => undefined);
  await assertRejects(() => labelShard(teacher, fasta, unmerged, { ...base, crop: 30, shard: { index: 1, count: 3 } }), 'config', /shard-00001-of-00003\.logits belongs to another labelling run \(--crop: there 40 vs now 30\); nothing was overwritten/);
  await assertRejects(() => labelShard(teacher, fasta, unmerged, { ...base, shard: { index: 1, count: 4 } }), 'config', /is shard 1\/3; this run labels shard 1\/4: a cache is split one way only/);
  await assertRejects(() => labelShard(teacher, fasta, whole, { ...base, masks: 3 }), 'config', /already holds a teacher cache made with other settings \(--masks: there 2 vs now 3\); nothing was overwritten/);
  await assertRejects(() => labelShard(teacher, fasta, sharded, { ...base, crop: 30, shard: { index: 1, count: 3 } }), 'config', /sharded already holds a teacher cache made with other settings \(--crop: there 40 vs now 30\)/);
  assert.deepEqual(readFileSync(join(sharded, shardFileName(1, 3))), before);
  assert.deepEqual(readFileSync(join(unmerged, shardFileName(1, 3))), before);
  const broken = variant('broken-own', (d) => truncateSync(join(d, shardFileName(3, 3)), 100));
  await assertRejects(() => labelShard(teacher, fasta, broken, { ...base, shard: { index: 3, count: 3 } }), 'data', /shard-00003-of-00003\.logits already exists but is not a complete shard .*delete it to label this shard again/);
  assert.equal(statSync(join(broken, shardFileName(3, 3))).size, 100);
  await assertRejects(() => labelShard(teacher, fasta, join(dir, 'x'), { ...base, crop: 1100, teacherMaxTokens: 1024 }), 'config', '--crop 1100 does not fit the teacher');
});

test('train-side checks: a manifest whose shard was truncated or swapped after merging is a data error', () => {
  const d = variant('after-merge', () => undefined);
  mergeShards(d);
  const p = join(d, shardFileName(3, 3));
  truncateSync(p, statSync(p).size - 8);
  assertFails(() => TeacherCache.open(d), 'data', /shard-00003-of-00003\.logits has \d+ bytes, its manifest says \d+ \(truncated or replaced\)/);
  unlinkSync(p);
  assertFails(() => TeacherCache.open(d), 'data', /shard-00003-of-00003\.logits listed in its manifest is missing/);
});

test('float16 storage halves the logits and rounds each to the nearest half', async () => {
  const half = join(dir, 'half');
  const r = await labelShard(teacher, fasta, half, { ...base, dtype: 'float16' });
  assert.notEqual(r.footer.key, labelled.footer.key, 'the storage type is part of the key');
  assert.equal(r.footer.payloadBytes, r.footer.positions * (4 + 2 * V));
  const a = ShardReader.open(join(whole, shardFileName(1, 1)));
  const b = ShardReader.open(join(half, shardFileName(1, 1)));
  let worstRel = 0;
  for (let i = 0; i < 14; i++) {
    const x = a.entry(i, 1);
    const y = b.entry(i, 1);
    assert.deepEqual(y.positions, x.positions);
    x.logits.forEach((v, k) => (worstRel = Math.max(worstRel, Math.abs(y.logits[k]! - v) / Math.max(Math.abs(v), 2 ** -14))));
  }
  assert.ok(worstRel > 0 && worstRel <= 2 ** -11, `relative rounding error ${worstRel} (half precision: at most 2^-11)`);
  a.close();
  b.close();
});
