import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`../../../tests/fixtures/rank/${name}`, import.meta.url));
const TINY = ['--synthetic-train', '150', '--synthetic-val', '40', '--synthetic-dim', '32', '--rank', '4', '--steps', '20', '--batch-size', '16', '--teacher-steps', '10', '--teacher-batch-size', '16', '--sweep', '2,4,8', '--latency-repeats', '3', '--latency-warmup', '1', '--latency-batches', '1,32'];

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, PROTDISTIL_THREADS: '1' }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
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
    const teachers = summary.teachers as Record<string, Record<string, number>>;
    assert.deepEqual(Object.keys(teachers), ['random', 'task-trained', 'spectral']);
    assert.ok(teachers.random!.student_cosine! > teachers.random!.svd_cosine!);
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
      const s = JSON.parse(readFileSync(join(dir, 'distil_rank_summary.json'), 'utf8')) as { teachers: Record<string, Record<string, unknown>> };
      return Object.values(s.teachers).map((t) => [t.svd_cosine, t.closed_form_cosine, t.student_cosine, t.student_rel_mse, t.final_loss, t.rank_sweep]);
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
});
