import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeHfEsm } from '../../src/io/esm/hf-writer.js';
import { loadEsm } from '../../src/io/esm/load.js';
import { checkpointPaths } from '../models/esm/fixtures.js';
import { tempDir, writeRandomFasta } from '../compress/helpers.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, PROTDISTIL_THREADS: '1' } });

const { dir, cleanup } = tempDir();
after(cleanup);
const calib = join(dir, 'calib.fasta');
writeRandomFasta(calib, 12, 3);
const pt = checkpointPaths('esm2_t3_tiny').pt;

test('compress writes a model that extract loads, its ONNX file and the reports', () => {
  const out = join(dir, 'out');
  const r = run(['compress', pt, '--fasta', calib, '--out', out, '--rank', '8', '--valid', calib, '--valid-sequences', '5', '--speed-shapes', '2x32,4x64', '--speed-repeats', '1']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /compressed 19 of 19 projections/);
  assert.match(r.stdout, /masked perplexity \(pure\): [\d.]+ -> [\d.]+/);
  for (const f of ['config.json', 'model.safetensors', 'vocab.txt', 'model.onnx', 'compress_report.json', 'compress_report.md', 'compress_report.png']) assert.ok(existsSync(join(out, f)), f);
  const rep = JSON.parse(readFileSync(join(out, 'compress_report.json'), 'utf8')) as { projections: { rank: number; params_after: number }[]; totals: Record<string, number>; throughput: unknown[]; perplexity: { before: number; after: number } };
  assert.equal(rep.projections.length, 19);
  assert.ok(rep.projections.every((p) => p.rank === 8));
  assert.ok(rep.totals.params_after! < rep.totals.params_before!);
  assert.ok(rep.totals.file_bytes_after! < rep.totals.file_bytes_before!);
  assert.equal(rep.throughput.length, 2);
  assert.equal((rep as unknown as { factors: string }).factors, 'closed-form');
  const ex = run(['extract', out, calib, join(dir, 'emb')]);
  assert.equal(ex.status, 0, ex.stderr);
  assert.match(ex.stdout, /extracted 12 sequence\(s\)/);
});

test('compress --distill-steps distils the original into the compressed model with train\'s loss', () => {
  const out = join(dir, 'distilled');
  const r = run(['compress', pt, '--fasta', calib, '--out', out, '--rank', '4', '--speed-shapes', 'none', '--distill-steps', '30', '--distill-lambda', '1', '--distill-lr', '3e-3', '--distill-batch-size', '6', '--distill-crop', '64']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /distilled 30 steps: loss [\d.]+ -> [\d.]+/);
  const rep = JSON.parse(readFileSync(join(out, 'compress_report.json'), 'utf8')) as { distillation: { steps: number; lambda: number; first_loss: number; last_loss: number } };
  assert.equal(rep.distillation.steps, 30);
  assert.equal(rep.distillation.lambda, 1);
  // Pure KD towards a fixed teacher on 12 sequences: the KL to the original falls.
  assert.ok(rep.distillation.last_loss < rep.distillation.first_loss, `${rep.distillation.first_loss} -> ${rep.distillation.last_loss}`);
});

test('bad input: one error line, non-zero exit, no output directory', () => {
  const nanDir = join(dir, 'nan-model');
  const m = loadEsm(pt).model;
  (m.layers[1]!.finalLayerNorm.weight.node.realized as Float32Array)[0] = Infinity;
  writeHfEsm(m, nanDir);
  const nanWeights = join(dir, 'nan-weights');
  const w = loadEsm(pt).model;
  (w.layers[2]!.fc2 as { weight: { node: { realized: Float32Array } } }).weight.node.realized[5] = NaN;
  writeHfEsm(w, nanWeights);
  const short = join(dir, 'short.fasta');
  writeFileSync(short, '>a\nMKV\n>b\nACDEF\n');
  const notModel = join(dir, 'not-a-model.bin');
  writeFileSync(notModel, 'hello');
  const cases: [string[], RegExp][] = [
    [['compress', notModel, '--fasta', calib, '--rank', '4'], /^protdistil: checkpoint error: .*not-a-model\.bin/],
    [['compress', pt, '--fasta', calib, '--rank', '48'], /^protdistil: config error: --rank \(layers\.0\.selfAttn\.qProj\) 48 must be an integer with 1 <= rank < min\(d_in, d_out\) = 48/],
    [['compress', pt, '--fasta', short, '--rank', '4'], /^protdistil: data error: calibration set too short: 12 tokens in 2 sequence\(s\), at least 192 are needed \(the widest projection input, layers\.0\.fc2/],
    [['compress', nanDir, '--fasta', calib, '--rank', '4'], /^protdistil: data error: calibration: non-finite activations at the input of layers\.1\.fc1 \(calibration batch 1 of 1/],
    [['compress', nanWeights, '--fasta', calib, '--rank', '4'], /^protdistil: data error: layers\.2\.fc2: the weights hold non-finite values/],
    [['compress', pt, '--fasta', calib, '--rank', '4', '--target-cosine', '0.9'], /^protdistil: config error: give exactly one of --rank, --target-cosine, --params-fraction/],
    [['compress', pt, '--fasta', calib, '--params-fraction', '1.5'], /^protdistil: config error: --params-fraction must be in \(0, 1\)/],
    [['compress', pt, '--fasta', calib, '--rank', '4', '--method', 'svd'], /^protdistil: config error: --method must be 'closed-form' or 'weight-svd', got 'svd'/],
  ];
  for (const [i, [args, want]] of cases.entries()) {
    const out = join(dir, `bad-${i}`);
    const r = run([...args, '--out', out]);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('protdistil:')).length, 1, r.stderr);
    assert.match(r.stderr.trim().split('\n').at(-1) as string, want);
    assert.ok(!existsSync(out), `${out} must not be created`);
  }
});
