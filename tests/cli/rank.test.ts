import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`../../../tests/fixtures/rank/${name}`, import.meta.url));
const layerFixture = (name: string): string => fixture(`layers/${name}`);
const TINY = ['--synthetic-train', '150', '--synthetic-val', '40', '--synthetic-dim', '32', '--rank', '4', '--steps', '20', '--batch-size', '16', '--teacher-steps', '10', '--teacher-batch-size', '16', '--sweep', '2,4,8', '--latency-repeats', '3', '--latency-warmup', '1', '--latency-batches', '1,32'];

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, PROTDISTIL_THREADS: '1' }, maxBuffer: 16 << 20, ...(cwd === undefined ? {} : { cwd }) }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

const work = mkdtempSync(join(tmpdir(), 'protdistil-rank-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('protdistil rank (command line)', () => {
  it('runs end to end on tiny synthetic data and writes every output, labelled synthetic', async () => {
    const out = join(work, 'ok');
    const save = join(work, 'students');
    const r = await cli(['rank', ...TINY, '--out', out, '--save-student', save]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /== Distil-Rank summary: SYNTHETIC data \(plm-like generator\)/);
    assert.match(r.stdout, /teacher +rank +SVD cosine +closed-form cosine +distilled cosine/);
    assert.match(r.stdout, /== teacher 'task-trained'/);
    const summary = JSON.parse(readFileSync(join(out, 'distil_rank_summary.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(summary.real_data, false);
    assert.equal(summary.target_rank, 4);
    assert.equal(summary.input_dim, 32);
    // The original benchmark's structure: summary["experiments"]["Random"]["student_cosine"] and so on.
    const experiments = summary.experiments as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(experiments), ['Random', 'Task-Trained', 'Spectral']);
    assert.deepEqual(Object.values(experiments).map((e) => e.teacher), ['random', 'task-trained', 'spectral']);
    for (const e of Object.values(experiments)) {
      for (const k of ['svd_cosine', 'svd_rel_mse', 'student_cosine', 'student_rel_mse', 'cosine_improvement', 'mse_reduction', 'latency_teacher_ms', 'latency_student_ms', 'speedup', 'params_teacher', 'params_student', 'compression']) {
        assert.equal(typeof e[k], 'number', k);
      }
    }
    assert.ok((experiments.Random!.student_cosine as number) > (experiments.Random!.svd_cosine as number));
    assert.equal(summary.teachers, undefined);
    const png = readFileSync(join(out, 'distil_rank_final_report.png'));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.match(readFileSync(join(out, 'distil_rank_final_report.svg'), 'utf8'), /^<svg/);
    assert.match(readFileSync(join(out, 'distil_rank_report.md'), 'utf8'), /SYNTHETIC/);
    assert.ok(existsSync(join(out, 'distil_rank_details.json')));
    for (const t of ['random', 'task-trained', 'spectral']) {
      for (const f of ['model.safetensors', 'config.json', 'model.onnx']) assert.ok(existsSync(join(save, t, f)), `${t}/${f}`);
    }
  });

  it('is reproducible: the same seed gives the same fidelity numbers', async () => {
    const a = join(work, 'det-a');
    const b = join(work, 'det-b');
    const args = [...TINY, '--teachers', 'random,spectral'];
    assert.equal((await cli(['rank', ...args, '--out', a])).code, 0);
    assert.equal((await cli(['rank', ...args, '--out', b])).code, 0);
    const pick = (dir: string): unknown => {
      const s = JSON.parse(readFileSync(join(dir, 'distil_rank_summary.json'), 'utf8')) as { experiments: Record<string, Record<string, unknown>> };
      return Object.values(s.experiments).map((t) => [t.svd_cosine, t.closed_form_cosine, t.student_cosine, t.student_rel_mse, t.final_loss, t.rank_sweep]);
    };
    assert.deepEqual(pick(a), pick(b));
  });

  it('fails with one clear line, a non-zero exit and no result files', async () => {
    const notDir = join(work, 'a-file');
    writeFileSync(notDir, 'x');
    // Later flags win, so each case's flags override TINY's.
    const cases: [string, string[], RegExp][] = [
      ['hostile .pt', ['--train', fixture('hostile.pt')], /checkpoint error: --train: .*hostile\.pt: refusing to load global 'os\.system'/],
      ['not 2-D', ['--train', fixture('cube.pt')], /data error: --train: .*cube\.pt: expected a 2-D tensor .*\[4, 10, 16\] \(3-D\)/],
      ['NaN', ['--train', fixture('nan.npy')], /data error: --train: .*nan\.npy: 2 non-finite value\(s\); the first is NaN at row 2, column 3/],
      ['Inf in --val', ['--train', fixture('train.npy'), '--val', fixture('inf.pt')], /data error: --val: .*inf\.pt: 1 non-finite/],
      ['width mismatch', ['--train', fixture('train.npy'), '--val', fixture('narrow.npy')], /data error: --train .* has 16 features per row but --val .* has 12/],
      ['rank too high', ['--train', fixture('train.npy'), '--rank', '16'], /config error: --rank 16 must be an integer with 1 <= rank < min\(d_in, d_out\) = 16/],
      ['empty file', ['--train', fixture('empty.pt')], /checkpoint error: --train: .*empty\.pt: empty file/],
      ['no rows', ['--train', fixture('no-rows.npy')], /data error: .*empty embedding matrix/],
      ['bad flag', ['--steps', '0'], /config error: --steps must be an integer >= 1, got '0'/],
      ['val without train', ['--val', fixture('val.npy')], /config error: invalid rank config: val: val needs train/],
      ['out is a file', ['--out', notDir], /config error: --out .*a-file exists and is not a directory/],
      ['unreachable target', ['--target-cosine', '1', '--synthetic-dim', '8', '--sweep', 'none', '--teachers', 'spectral'], /data error: --target-cosine 1 is not reached/],
      ['hostile layer', ['--layer', layerFixture('bad/hostile.pt')], /checkpoint error: --layer: .*hostile\.pt: refusing to load global 'os\.system'/],
      ['layer of the wrong width', ['--train', fixture('train.npy'), '--layer', layerFixture('bad/wrong-in.pt')], /data error: --layer .*wrong-in\.pt: the layer takes 12 input features \(weight 8 x 12\) but the embeddings have 16 per row/],
      ['layer bias of the wrong shape', ['--layer', layerFixture('bad/bias-mismatch.pt')], /data error: --layer .*bias-mismatch\.pt: bias has shape \[7\] but the weight \[8, 16\] needs a bias of shape \[8\]/],
      ['NaN in a layer', ['--layer', layerFixture('bad/nan-weight.pt')], /data error: --layer .*nan-weight\.pt: weight has 2 non-finite value\(s\); the first is NaN at row 3, column 5/],
      ['Inf in a layer bias', ['--layer', layerFixture('bad/inf-bias.npz')], /data error: --layer .*inf-bias\.npz: bias has 1 non-finite value\(s\)/],
      ['3-D layer weight', ['--layer', layerFixture('bad/weight-3d.safetensors')], /data error: --layer .*weight-3d\.safetensors: weight must be 2-D/],
      ['module state dict without --layer-key', ['--layer', layerFixture('classifier.pt')], /data error: --layer .*classifier\.pt: no tensor 'weight' .*layers in the file: '0', '2'/],
      ['a good layer beside a bad one', ['--train', fixture('train.npy'), '--layer', layerFixture('wide.pt'), '--layer', layerFixture('bad/int-weight.pt')], /data error: --layer .*int-weight\.pt: weight must be floating point, got int64/],
    ];
    const runs = await Promise.all(cases.map(async ([name, args]) => {
      const out = join(work, `fail-${name.replace(/\W+/g, '-')}`);
      return { name, out, run: await cli(['rank', ...TINY, '--out', out, ...args]) };
    }));
    runs.forEach(({ name, out, run }, i) => {
      const [, , pattern] = cases[i]!;
      assert.equal(run.code, 1, `${name}: exit ${run.code}, stderr ${run.stderr}`);
      const lines = run.stderr.trim().split('\n').filter((l) => l.startsWith('protdistil:'));
      assert.equal(lines.length, 1, `${name}: ${run.stderr}`);
      assert.match(lines[0]!, pattern, name);
      assert.ok(!run.stderr.includes('    at '), `${name}: no stack trace without --debug`);
      assert.ok(!existsSync(out), `${name}: ${out} must not exist`);
    });
  });

  it('compresses the user\'s own non-square layers (--layer) on real embeddings and says which rank reaches each cosine', async () => {
    const out = join(work, 'layers');
    const save = join(work, 'layer-students');
    const args = ['rank', ...TINY, '--train', fixture('train.npy'), '--val', fixture('val.npy'), '--layer', layerFixture('wide.pt'), '--layer', layerFixture('narrow.pt'), '--out', out, '--save-student', save];
    const r = await cli(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /== teacher 'wide' \(24 x 16\): trained layer from .*wide\.pt/);
    assert.match(r.stdout, /== teacher 'narrow' \(6 x 16\): trained layer from .*narrow\.pt \(6 x 16, no bias\)/);
    assert.match(r.stdout, /held-out cosine 0\.99: rank \d+ \(closed form 0\.99\d+\), [\d,]+ parameters \([\d.]+x fewer\), [\d.]+x faster at batch 32/);
    assert.match(r.stdout, /held-out cosine 0\.9999: (rank \d+|not reached below rank 16)/);
    assert.doesNotMatch(r.stdout, /== teacher 'random'/, 'built-in teachers are off with --layer');
    const summary = JSON.parse(readFileSync(join(out, 'distil_rank_summary.json'), 'utf8')) as { real_data: boolean; experiments: Record<string, Record<string, unknown>> };
    assert.equal(summary.real_data, true);
    assert.deepEqual(Object.keys(summary.experiments), ['wide', 'narrow']);
    assert.deepEqual([summary.experiments.narrow!.out_features, summary.experiments.narrow!.bias, summary.experiments.wide!.rank], [6, false, 4]);
    for (const [t, width] of [['wide', 24], ['narrow', 6]] as const) {
      const config = JSON.parse(readFileSync(join(save, t, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual([config.in_features, config.out_features, config.rank, config.teacher], [16, width, 4, t]);
    }
    assert.match(readFileSync(join(out, 'distil_rank_report.md'), 'utf8'), /Smallest rank reaching each held-out cosine/);
    // One layer of a module's state dict, by --layer-key, beside a built-in teacher.
    const keyed = await cli(['rank', ...TINY, '--train', fixture('train.npy'), '--layer', layerFixture('classifier.pt'), '--layer-key', '0', '--teachers', 'spectral', '--out', join(work, 'keyed')]);
    assert.equal(keyed.code, 0, keyed.stderr);
    assert.match(keyed.stdout, /== teacher 'classifier' \(32 x 16\): trained layer from .*classifier\.pt \(key '0'\)/);
    const k = JSON.parse(readFileSync(join(work, 'keyed', 'distil_rank_summary.json'), 'utf8')) as { experiments: Record<string, Record<string, unknown>> };
    assert.deepEqual(Object.keys(k.experiments), ['Spectral', 'classifier']);
    assert.equal(k.experiments.classifier!.layer_key, '0');
  });

  it('uses embeddings_train.pt and embeddings_val.pt of the working directory without flags (and says so), else synthetic data', async () => {
    const withFiles = join(work, 'cwd-real');
    mkdirSync(withFiles);
    copyFileSync(fixture('train.pt'), join(withFiles, 'embeddings_train.pt'));
    copyFileSync(fixture('val.pt'), join(withFiles, 'embeddings_val.pt'));
    const tiny = TINY.filter((_, i) => !TINY[i]!.startsWith('--synthetic') && !TINY[i - 1]?.startsWith('--synthetic'));
    const real = await cli(['rank', ...tiny, '--teachers', 'random', '--out', 'out'], withFiles);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stderr, /found embeddings_train\.pt and embeddings_val\.pt in the working directory: real-data mode/);
    const s = JSON.parse(readFileSync(join(withFiles, 'out', 'distil_rank_summary.json'), 'utf8')) as { real_data: boolean; input_dim: number; data: { train: { rows: number; source: string }; validation: string } };
    assert.deepEqual([s.real_data, s.input_dim, s.data.train.rows, s.data.train.source, s.data.validation], [true, 16, 40, 'embeddings_train.pt', 'file']);

    const onlyOne = join(work, 'cwd-one');
    mkdirSync(onlyOne);
    copyFileSync(fixture('train.pt'), join(onlyOne, 'embeddings_train.pt'));
    const synthetic = await cli(['rank', ...TINY, '--teachers', 'random', '--out', 'out'], onlyOne);
    assert.equal(synthetic.code, 0, synthetic.stderr);
    assert.doesNotMatch(synthetic.stderr, /found embeddings_train/);
    const t = JSON.parse(readFileSync(join(onlyOne, 'out', 'distil_rank_summary.json'), 'utf8')) as { real_data: boolean };
    assert.equal(t.real_data, false);
    // A synthetic flag keeps synthetic data even where both files exist.
    const forced = await cli(['rank', ...TINY, '--teachers', 'random', '--out', 'out-synthetic'], withFiles);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((JSON.parse(readFileSync(join(withFiles, 'out-synthetic', 'distil_rank_summary.json'), 'utf8')) as { real_data: boolean }).real_data, false);
  });
});
