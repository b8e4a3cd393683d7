import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { shardFileName } from '../../src/distill/cache-shard.js';
import { writeHfEsm } from '../../src/io/esm/hf-writer.js';
import { parseEsmConfig } from '../../src/models/esm/config.js';
import { createEsmModel } from '../../src/models/esm/model.js';
import { Rng } from '../../src/tensor/random.js';
import { randomProteins, tempDir, writeFasta } from '../distill/helpers.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, PROTDISTIL_THREADS: '1', ...env } });

const { dir, cleanup } = tempDir('protdistil-label-');
after(cleanup);
const train = writeFasta(join(dir, 'train.fasta'), randomProteins(12, 1, 20, 70));
const other = writeFasta(join(dir, 'other.fasta'), randomProteins(12, 9, 20, 70));
// A random teacher (N(0, 1) embeddings, so its distributions are far from uniform) saved as a Hugging Face directory.
const teacherDir = join(dir, 'teacher');
writeHfEsm(createEsmModel(parseEsmConfig({ arch: 'esm2', numLayers: 2, embedDim: 16, attentionHeads: 2, ffnDim: 64, tokenDropout: false }), new Rng(11)), teacherDir);

/** 30 steps of batch size 1 over 12 sequences: 2.5 epochs, so the run uses mask draws 0, 1 and 0 again with K = 2. */
const student = ['train', '--train', train, '--arch', 'esm2', '--layers', '1', '--dim', '16', '--heads', '2', '--crop', '40', '--batch-size', '1', '--max-steps', '30', '--warmup-steps', '2', '--log-every', '1', '--eval-every', '100', '--save-every', '4', '--seed', '3'];
const labelArgs = (out: string, ...more: string[]) => ['label', teacherDir, train, out, '--masks', '2', '--seed', '3', '--crop', '40', '--toks-per-batch', '42', ...more];

type LogRec = { type: string; step: number; loss: number; ce: number; kd: number | null };
const log = (out: string): LogRec[] => readFileSync(join(out, 'train_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogRec).filter((r) => r.type === 'train');
const errorLine = (stderr: string): string => {
  const lines = stderr.trim().split('\n').filter((l) => l.startsWith('protdistil:'));
  assert.equal(lines.length, 1, `exactly one error line in: ${stderr}`);
  return lines[0]!;
};
const ok = (r: ReturnType<typeof run>): ReturnType<typeof run> => {
  assert.equal(r.status, 0, r.stderr);
  return r;
};

const cache = join(dir, 'cache');
const labelRun = ok(run(labelArgs(cache)));
const live = join(dir, 'live');
ok(run([...student, '--teacher', teacherDir, '--mask-cycle', '2', '--out', live]));
const cached = join(dir, 'cached');
const cachedRun = ok(run([...student, '--teacher-cache', cache, '--out', cached]));

test('label prints what it stored; the cache holds a manifest and one shard', () => {
  assert.match(labelRun.stdout, /labelled shard 1\/1 \(sequences 0\.\.11 of 12\) × 2 mask draw\(s\): [\d,]+ tokens, [\d,]+ masked positions .* tok\/s/);
  assert.match(labelRun.stdout, /cache .*: 1 shard\(s\), 12 sequences × 2 mask draw\(s\), .* MiB per million teacher tokens/);
  assert.deepEqual(readdirSync(cache).sort(), ['cache.json', shardFileName(1, 1)]);
  assert.match(ok(run(labelArgs(cache))).stdout, /already holds shard 1\/1 .* nothing to do/);
});

test('train --teacher-cache logs bit-identical losses to train --teacher with the same masks (batch size 1, 2.5 epochs)', () => {
  assert.match(cachedRun.stderr, /distillation λ = 0\.5/);
  const a = log(live);
  const b = log(cached);
  assert.equal(a.length, 30);
  assert.ok(a.every((r) => r.kd !== null && r.kd > 0), 'the KD term is active');
  assert.deepEqual(b.map((r) => [r.step, r.loss, r.ce, r.kd]), a.map((r) => [r.step, r.loss, r.ce, r.kd]));
});

test('with several rows per batch the step-1 loss agrees to float32 rounding, later ones closely (the teacher saw other padding when labelling)', () => {
  const args = student.map((x, i) => (student[i - 1] === '--batch-size' ? '4' : student[i - 1] === '--max-steps' ? '9' : x));
  ok(run([...args, '--teacher', teacherDir, '--mask-cycle', '2', '--out', join(dir, 'live4')]));
  ok(run([...args, '--teacher-cache', cache, '--out', join(dir, 'cached4')]));
  const a = log(join(dir, 'live4'));
  const b = log(join(dir, 'cached4'));
  assert.equal(b.length, 9);
  const rel = a.map((r, i) => Math.abs(r.loss - b[i]!.loss) / Math.abs(r.loss));
  // Step 1 starts from the same weights: only the teacher logits' rounding differs.
  assert.ok(rel[0]! < 1e-6, `step 1 relative loss difference ${rel[0]}`);
  // Later steps also carry AdamW's first updates (≈ lr·sign(g)), which turn last-bit gradient
  // differences of near-zero components into lr-sized weight differences: small, not rounding-level.
  assert.ok(Math.max(...rel) < 1e-3, `relative loss differences ${rel.join(', ')}`);
});

test('a live-teacher run killed mid-way resumes from the cache with the same losses (the run identity does not depend on the teacher source)', () => {
  const out = join(dir, 'switch');
  const killed = run([...student, '--teacher', teacherDir, '--mask-cycle', '2', '--out', out], { PROTDISTIL_FAULT: 'after-step#10' });
  assert.equal(killed.signal, 'SIGKILL');
  const resumed = ok(run([...student, '--teacher-cache', cache, '--out', out, '--resume']));
  assert.match(resumed.stderr, /resuming at step 8/);
  assert.deepEqual(log(out).map((r) => r.loss), log(live).map((r) => r.loss));
});

test('shards labelled separately, merged with label-merge, train exactly as the unsharded cache', () => {
  const sharded = join(dir, 'sharded');
  for (const s of ['2/2', '1/2']) assert.match(ok(run(labelArgs(sharded, '--shard', s))).stdout, /when all 2 shards are in .*: protdistil label-merge/);
  const early = run([...student, '--teacher-cache', sharded, '--out', join(dir, 'too-early')]);
  assert.equal(early.status, 1);
  assert.match(errorLine(early.stderr), /^protdistil: config error: teacher cache .* holds shards but no cache\.json: run protdistil label-merge/);
  assert.match(ok(run(['label-merge', sharded])).stdout, /^merged: cache .*: 2 shard\(s\), 12 sequences × 2 mask draw\(s\)/);
  const out = join(dir, 'from-shards');
  ok(run([...student, '--teacher-cache', sharded, '--out', out]));
  assert.deepEqual(log(out).map((r) => r.loss), log(cached).map((r) => r.loss));
});

test('float16 logits: half the cache, losses within 1e-4 relative of float32', () => {
  const half = join(dir, 'half');
  ok(run(labelArgs(half, '--dtype', 'float16')));
  const out = join(dir, 'cached-half');
  ok(run([...student, '--teacher-cache', half, '--out', out]));
  const a = log(cached);
  const b = log(out);
  const rel = a.map((r, i) => Math.abs(r.loss - b[i]!.loss) / r.loss);
  assert.ok(Math.max(...rel) > 0 && Math.max(...rel) < 1e-4, `relative loss differences up to ${Math.max(...rel)}`);
  const size = (d: string): number => statSync(join(d, shardFileName(1, 1))).size;
  assert.ok(size(half) / size(cache) < 0.55, `${size(half)} vs ${size(cache)} bytes`);
});

test('label --int8: the cache records the quantised teacher, trains, and is not mixed with a float cache', () => {
  const q8 = join(dir, 'int8');
  const r = ok(run(labelArgs(q8, '--int8')));
  assert.match(r.stderr, /teacher: .*int8 dynamic \(4 products\)/);
  const manifest = (d: string): { identity: { teacher: string } } => JSON.parse(readFileSync(join(d, 'cache.json'), 'utf8')) as { identity: { teacher: string } };
  assert.equal(manifest(q8).identity.teacher, `${manifest(cache).identity.teacher}|int8-dynamic-w7`);
  const out = join(dir, 'cached-int8');
  ok(run([...student, '--teacher-cache', q8, '--out', out]));
  const a = log(cached);
  const b = log(out);
  const rel = a.map((x, i) => Math.abs(x.loss - b[i]!.loss) / x.loss);
  assert.ok(Math.max(...rel) > 0 && Math.max(...rel) < 0.05, `relative loss differences up to ${Math.max(...rel)}`);
  const mixed = run(labelArgs(q8));
  assert.notEqual(mixed.status, 0);
  assert.match(errorLine(mixed.stderr), /int8 already holds a teacher cache made with other settings \(teacher weights \(fingerprint\): there [^ ]+…\|int8-dynamic-w7 vs now [^ |]+…\)/);
});

test('bad input: one clear line, non-zero exit, nothing overwritten', () => {
  const manifestBefore = readFileSync(join(cache, 'cache.json'));
  const gone = join(dir, 'gone');
  mkdirSync(gone);
  const cut = join(dir, 'cut');
  mkdirSync(cut);
  const sharded = join(dir, 'sharded');
  copyFileSync(join(sharded, shardFileName(1, 2)), join(gone, shardFileName(1, 2)));
  for (const f of [shardFileName(1, 2), shardFileName(2, 2)]) copyFileSync(join(sharded, f), join(cut, f));
  truncateSync(join(cut, shardFileName(2, 2)), statSync(join(cut, shardFileName(2, 2))).size - 3);
  const dup = join(dir, 'dup');
  mkdirSync(dup);
  for (const f of [shardFileName(1, 2), shardFileName(2, 2)]) copyFileSync(join(sharded, f), join(dup, f));
  copyFileSync(join(sharded, shardFileName(1, 2)), join(dup, 'again.logits'));
  const cases: [string[], RegExp][] = [
    [[...student, '--teacher-cache', cache, '--seed', '4', '--out', join(dir, 'b1')], /^protdistil: config error: --teacher-cache .* does not fit this run \(--seed: cache 3 vs run 4\)/],
    [[...student.map((x) => (x === train ? other : x)), '--teacher-cache', cache, '--out', join(dir, 'b2')], /^protdistil: config error: --teacher-cache .* does not fit this run \(FASTA \(SHA-256\): cache [0-9a-f]+… vs run [0-9a-f]+…; --train is .*other\.fasta\)/],
    [[...student, '--teacher-cache', cache, '--crop', '30', '--mask-prob', '0.2', '--out', join(dir, 'b3')], /--crop: cache 40 vs run 30; --mask-prob: cache 0\.15 vs run 0\.2/],
    [[...student, '--teacher-cache', cache, '--teacher', teacherDir, '--out', join(dir, 'b4')], /^protdistil: config error: .*give --teacher or --teacher-cache, not both/],
    [[...student, '--teacher-cache', join(dir, 'nowhere'), '--out', join(dir, 'b5')], /^protdistil: io error: teacher cache .*nowhere: no such directory/],
    [[...student, '--teacher-cache', cache, '--mask-cycle', '3', '--out', join(dir, 'b6')], /^protdistil: config error: --mask-cycle 3 needs 3 mask draws, but --teacher-cache .* holds 2/],
    [labelArgs(cache, '--crop', '30'), /^protdistil: config error: .*cache already holds a teacher cache made with other settings \(--crop: there 40 vs now 30\); nothing was overwritten/],
    [labelArgs(join(dir, 'b7'), '--dtype', 'float64'), /^protdistil: config error: --dtype must be one of float32, float16, got 'float64'/],
    [labelArgs(join(dir, 'b8'), '--shard', '3/2'), /^protdistil: config error: --shard must be i\/n with 1 <= i <= n/],
    [['label', join(dir, 'no-teacher'), train, join(dir, 'b9')], /^protdistil: io error: model .*no-teacher not found/],
    [['label-merge', gone], /^protdistil: data error: .*gone lacks shard 2\/2 \(expected shard-00002-of-00002\.logits\); label it with --shard 2\/2/],
    [['label-merge', cut], /^protdistil: data error: .*shard-00002-of-00002\.logits is not a complete teacher-logit shard: its end marker is missing \(truncated/],
    [['label-merge', dup], /^protdistil: config error: shard 1\/2 appears twice in .*: again\.logits and shard-00001-of-00002\.logits; keep one/],
  ];
  for (const [args, want] of cases) {
    const r = run(args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(errorLine(r.stderr), want, args.join(' '));
  }
  assert.deepEqual(readFileSync(join(cache, 'cache.json')), manifestBefore);
  for (const d of [gone, cut, dup]) assert.ok(!readdirSync(d).includes('cache.json'));
});
