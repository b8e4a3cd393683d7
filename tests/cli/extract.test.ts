import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readStack } from '../../src/extract/stack.js';
import { tempDir, writeFixtureFasta } from '../extract/helpers.js';
import { checkpointPaths } from '../models/esm/fixtures.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, PROTDISTIL_THREADS: '1' } });

const { dir, cleanup } = tempDir();
after(cleanup);
const fasta = join(dir, 'in.fasta');
const records = writeFixtureFasta(fasta, ['main', 'masked']);
const pt = checkpointPaths('esm2_t3_tiny').pt;
const hf = checkpointPaths('esm1b_t3_tiny').hf;

test('extract writes one file per sequence plus a stacked matrix, and a rerun skips them all', () => {
  const out = join(dir, 'out');
  const args = ['extract', pt, fasta, out, '--repr-layers', '0', '-1', '--include', 'mean', 'bos', '--format', 'safetensors', '--stack', 'mean', '--out', join(dir, 'emb.pt')];
  const r = run(args);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`extracted ${records.length} sequence\\(s\\), skipped 0`));
  assert.match(r.stdout, /seq\/s, \d+ tok\/s/);
  assert.match(r.stderr, /model: ESM-2, 3 layers, embed dim 48/);
  for (const rec of records) assert.ok(existsSync(join(out, `${rec.label}.safetensors`)), rec.label);
  const stack = readStack(join(dir, 'emb.pt'));
  assert.deepEqual(stack.matrix.shape, [records.length, 48]);
  assert.deepEqual(stack.labels, records.map((x) => x.label));
  const again = run(args);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`extracted 0 sequence\\(s\\), skipped ${records.length} already present`));
});

test('shards run separately and merge joins their stacks in FASTA order', () => {
  const out = join(dir, 'sharded');
  const emb = join(out, 'emb.npy');
  for (const s of ['2/2', '1/2']) {
    const r = run(['extract', hf, fasta, out, '--toks-per-batch', '64', '--shard', s, '--stack', 'mean', '--layer', '2', '--out', emb]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`shard ${s}: records`));
  }
  assert.ok(existsSync(join(out, 'emb.shard-1-of-2.npy')) && existsSync(join(out, 'emb.shard-2-of-2.labels.txt')));
  const m = run(['merge', emb]);
  assert.equal(m.status, 0, m.stderr);
  assert.match(m.stdout, /merged 2 shard\(s\): 8 x 48/);
  assert.deepEqual(readFileSync(join(out, 'emb.labels.txt'), 'utf8').trim().split('\n'), records.map((x) => x.label));
  assert.equal(readdirSync(out).filter((f) => f.endsWith('.pt')).length, records.length);
});

test('bad input gives one clear error line and a non-zero exit', () => {
  const bad = join(dir, 'bad.fasta');
  writeFileSync(bad, '>fine\nMKV\n>weird\nMK*V\n');
  const cases: [string[], RegExp][] = [
    [['extract', join(dir, 'nope.pt'), fasta, join(dir, 'o1')], /^protdistil: io error: model .*nope\.pt not found/],
    [['extract', 'esm2_t33_650M_UR50D', fasta, join(dir, 'o1')], /does not download models/],
    [['extract', fasta, fasta, join(dir, 'o1')], /^protdistil: checkpoint error: .*not a PyTorch checkpoint/],
    [['extract', pt, join(dir, 'missing.fasta'), join(dir, 'o1')], /^protdistil: io error: .*missing\.fasta/],
    [['extract', pt, bad, join(dir, 'o1')], /^protdistil: data error: .*"weird" has unknown token "\*" at position 2/],
    [['extract', pt, fasta, join(dir, 'o1'), '--format', 'hdf5'], /--format must be one of pt, safetensors, npy/],
    [['extract', pt, fasta, join(dir, 'o1'), '--shard', '3/2'], /--shard must be i\/n with 1 <= i <= n/],
    [['extract', pt, fasta, join(dir, 'o1'), '--stack', 'mean'], /--stack needs --out/],
    [['extract', pt, fasta, join(dir, 'o1'), '--include', 'mean', 'attention'], /--include: unknown kind 'attention'/],
    [['extract', pt, fasta, join(dir, 'o1'), '--repr-layers', '7'], /representation layer 7 is out of range/],
    [['extract', pt, fasta, join(dir, 'o1'), '--toks-per-batch', '0'], /--toks-per-batch must be an integer >= 1/],
    [['merge', join(dir, 'none.npy')], /no shard files none\.shard-<i>-of-<n>\.npy/],
  ];
  for (const [args, pattern] of cases) {
    const r = run(args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('model:'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] as string, pattern);
  }
  assert.ok(!existsSync(join(dir, 'o1')) || readdirSync(join(dir, 'o1')).length === 0);
});
