import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadEsm } from '../../src/io/esm/load.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { loadOnnx } from '../../src/runtime/ort.js';
import { ortTensor } from '../../src/runtime/ort.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { loadLatestCheckpoint } from '../../src/train/checkpoint.js';
import { randomProteins, tempDir, writeFasta } from '../distill/helpers.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, PROTDISTIL_THREADS: '1', ...env } });

const { dir, cleanup } = tempDir();
after(cleanup);
const train = writeFasta(join(dir, 'train.fasta'), randomProteins(40, 1, 20, 70));
const valid = writeFasta(join(dir, 'valid.fasta'), randomProteins(8, 2, 20, 60));
const base = ['train', '--train', train, '--valid', valid, '--arch', 'esm2', '--layers', '2', '--dim', '16', '--heads', '2', '--crop', '40', '--batch-size', '8', '--max-steps', '12', '--warmup-steps', '2', '--save-every', '4', '--eval-every', '6', '--log-every', '1', '--seed', '3'];

type LogRec = { type: string; step: number; loss: number; pure?: { perplexity: number } };
const readLog = (out: string): LogRec[] => readFileSync(join(out, 'train_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogRec);
/** The error lines of a failed run (progress lines may precede them). */
const errorLine = (stderr: string): string => {
  const lines = stderr.trim().split('\n').filter((l) => l.startsWith('protdistil:'));
  assert.equal(lines.length, 1, `exactly one error line in: ${stderr}`);
  return lines[0]!;
};
const losses = (out: string): Map<number, number> => new Map(readLog(out).filter((r) => r.type === 'train').map((r) => [r.step, r.loss]));

const ref = join(dir, 'ref');
const refRun = run([...base, '--out', ref]);

test('train runs to its step budget and writes checkpoints, best/, final/, log, curves and summary', () => {
  assert.equal(refRun.status, 0, refRun.stderr);
  assert.match(refRun.stdout, /trained 12 steps .* validation perplexity [\d.]+ \(pure mask\), [\d.]+ \(80\/10\/10\)/);
  for (const f of ['train_curves.png', 'train_curves.svg', 'train_summary.md', 'train_summary.json', 'final/model.onnx', 'final/hf/config.json', 'final/esm2_model.pt', 'final/esm2_model-contact-regression.pt', 'best/hf/model.safetensors']) {
    assert.ok(existsSync(join(ref, f)), f);
  }
  const log = readLog(ref);
  assert.deepEqual(log.filter((r) => r.type === 'train').map((r) => r.step), Array.from({ length: 12 }, (_, i) => i + 1));
  assert.deepEqual(log.filter((r) => r.type === 'valid').map((r) => r.step), [6, 12]);
  assert.deepEqual(readdirSync(join(ref, 'checkpoints')).sort(), ['latest.json', 'step-00000008', 'step-00000012']);
  const md = readFileSync(join(ref, 'train_summary.md'), 'utf8');
  assert.match(md, /perplexity \(pure mask\)/);
  assert.match(md, /Only the pure-mask perplexity compares with n-gram floors/);
});

test('final/ as fair-esm .pt, Hugging Face directory and ONNX gives the trained weights and identical logits', async () => {
  const ck = loadLatestCheckpoint(ref);
  const pt = loadEsm(join(ref, 'final', 'esm2_model.pt'));
  const hf = loadEsm(join(ref, 'final', 'hf'));
  for (const [name, a] of ck.params) {
    assert.deepEqual(pt.model.stateDict().get(name)?.data, a.data, `pt ${name}`);
    assert.deepEqual(hf.model.stateDict().get(name)?.data, a.data, `hf ${name}`);
  }
  const ids = [0, 5, 6, 32, 9, 10, 11, 2, 1];
  const tokens = Tensor.from(BigInt64Array.from(ids, BigInt), [1, ids.length], 'int64');
  const zPt = (await pt.model.forward(tokens).logits.toArray()) as Float32Array;
  const zHf = (await hf.model.forward(tokens).logits.toArray()) as Float32Array;
  assert.deepEqual(zHf, zPt);
  const session = await loadOnnx(readFileSync(join(ref, 'final', 'model.onnx')));
  const out = await session.runAlloc({ tokens: ortTensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) });
  const zOnnx = out.logits!.data as Float32Array;
  assert.equal(zOnnx.length, zPt.length);
  let worst = 0;
  zOnnx.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - zPt[i]!))));
  assert.ok(worst < 1e-5, `ONNX vs engine logits differ by ${worst}`);
});

test('a run killed with SIGKILL resumes with bit-identical losses and weights', () => {
  const out = join(dir, 'killed');
  const killed = run([...base, '--out', out], { PROTDISTIL_FAULT: 'after-step#7' });
  assert.equal(killed.signal, 'SIGKILL');
  assert.equal(loadLatestCheckpoint(out).state.step, 4);
  const resumed = run([...base, '--out', out, '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming at step 4/);
  assert.deepEqual(losses(out), losses(ref), 'every logged loss equals the uninterrupted run (steps 5-7 were redone)');
  assert.deepEqual(readSafetensors(join(out, 'final', 'hf', 'model.safetensors')).tensors, readSafetensors(join(ref, 'final', 'hf', 'model.safetensors')).tensors);
});

test('a kill during a checkpoint write leaves the previous checkpoint in charge, and the resume is exact', () => {
  const out = join(dir, 'killed-in-save');
  const killed = run([...base, '--out', out], { PROTDISTIL_FAULT: 'checkpoint-write#2' });
  assert.equal(killed.signal, 'SIGKILL');
  assert.equal(loadLatestCheckpoint(out).state.step, 4, 'latest still points at the complete step-4 checkpoint');
  assert.ok(readdirSync(join(out, 'checkpoints')).some((e) => e.startsWith('.step-00000008.tmp-')), 'the half-written checkpoint is a hidden temp directory');
  const resumed = run([...base, '--out', out, '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.deepEqual(losses(out), losses(ref));
  assert.ok(!readdirSync(join(out, 'checkpoints')).some((e) => e.includes('.tmp-')), 'temp directories are cleaned up');
});

test('resuming with another configuration is a clear error naming what differs', () => {
  const r = run([...base, '--lr', '0.002', '--out', ref, '--resume']);
  assert.equal(r.status, 1);
  assert.match(errorLine(r.stderr), /^protdistil: config error: cannot resume from .*step-00000012: the run configuration differs \(optimizer: checkpoint .*"lr":0\.001.* vs now .*"lr":0\.002/);
  const again = run([...base, '--out', ref]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already holds a training run .* --resume/);
});

test('a full disk during a checkpoint: one-line error, non-zero exit, the last checkpoint intact', () => {
  const out = join(dir, 'full');
  const r = run([...base, '--out', out], { PROTDISTIL_FAULT: 'checkpoint-write#2:enospc' });
  assert.equal(r.status, 1);
  assert.match(errorLine(r.stderr), /^protdistil: io error: .*no space left on device/);
  const ck = loadLatestCheckpoint(out);
  assert.equal(ck.state.step, 4);
  assert.ok(!readdirSync(join(out, 'checkpoints')).some((e) => e.includes('.tmp-')));
});

test('a non-finite loss stops with the checkpoint intact; --skip-nonfinite goes on', () => {
  const out = join(dir, 'nan');
  const r = run([...base, '--out', out, '--lr', '1e30', '--warmup-steps', '0', '--save-every', '1']);
  assert.equal(r.status, 1);
  assert.match(errorLine(r.stderr), /^protdistil: runtime error: non-finite loss .* at step \d+; .* the last checkpoint in .* is intact/);
  // Without --valid: a model wrecked by lr 1e30 has no finite validation perplexity to report.
  const noValid = base.filter((a, i) => a !== '--valid' && base[i - 1] !== '--valid');
  const skip = run([...noValid, '--out', join(dir, 'nan-skip'), '--lr', '1e30', '--warmup-steps', '0', '--skip-nonfinite']);
  assert.equal(skip.status, 0, skip.stderr);
  assert.ok(readLog(join(dir, 'nan-skip')).some((l) => (l as { skipped?: boolean }).skipped === true));
});

test('bad input: one clear line and a non-zero exit', () => {
  const empty = join(dir, 'empty.fasta');
  writeFileSync(empty, '');
  const bad = join(dir, 'bad.fasta');
  writeFileSync(bad, '>ok\nACDEFG\n>weird\nACD*EFG\n');
  const cases: [string[], RegExp][] = [
    [['--train', join(dir, 'missing.fasta')], /io error: .*missing\.fasta/],
    [['--train', empty], /data error: .*empty/],
    [['--train', bad], /data error: .*"weird" has unknown token "\*" at position 3.*--unknown-as-unk/],
    [['--train', train, '--arch', 'esm1b', '--crop', '1100'], /config error: --crop 1100 does not fit an ESM-1b-style model/],
    [['--train', train, '--teacher', join(dir, 'no-teacher')], /no-teacher/],
    [['--train', train, '--lambda', '0.5'], /config error: .*--lambda > 0 needs a --teacher/],
    [['--train', train, '--max-time', 'soon'], /config error: .*'soon' is not a duration/],
  ];
  for (const [args, want] of cases) {
    const student = args.includes('--arch') ? [] : ['--arch', 'esm2'];
    const r = run(['train', ...args, ...student, '--layers', '1', '--dim', '8', '--heads', '2', '--out', join(dir, 'bad-out'), '--max-steps', '2']);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(errorLine(r.stderr), want, args.join(' '));
  }
});

test('protdistil extract gives the same outputs from final/ as .pt, Hugging Face directory and ONNX', () => {
  const forms = { pt: join(ref, 'final', 'esm2_model.pt'), hf: join(ref, 'final', 'hf'), onnx: join(ref, 'final', 'model.onnx') };
  const results = new Map<string, Map<string, Float32Array>>();
  for (const [name, model] of Object.entries(forms)) {
    const out = join(dir, `extract-${name}`);
    const r = run(['extract', model, valid, out, '--repr-layers', '-1', '--include', 'mean', 'per_tok', 'logits', '--format', 'safetensors']);
    assert.equal(r.status, 0, r.stderr);
    const files = readdirSync(out).filter((f) => f.endsWith('.safetensors')).sort();
    assert.equal(files.length, 8);
    const arrays = new Map<string, Float32Array>();
    for (const f of files) for (const [k, a] of readSafetensors(join(out, f)).tensors) arrays.set(`${f}:${k}`, a.data as Float32Array);
    results.set(name, arrays);
  }
  const pt = results.get('pt')!;
  assert.deepEqual(results.get('hf'), pt, '.pt and Hugging Face forms give identical files');
  const onnx = results.get('onnx')!;
  assert.deepEqual([...onnx.keys()], [...pt.keys()]);
  for (const [k, a] of pt) {
    const b = onnx.get(k)!;
    let worst = 0;
    a.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - b[i]!))));
    assert.ok(worst < 1e-5, `${k}: ONNX differs by ${worst}`);
  }
  const wrongLayer = run(['extract', forms.onnx, valid, join(dir, 'extract-bad'), '--repr-layers', '0']);
  assert.equal(wrongLayer.status, 1);
  assert.match(errorLine(wrongLayer.stderr), /config error: .*holds only the final layer/);
});
