import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../extract/helpers.js';
import { checkpointPaths } from '../models/esm/fixtures.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, PROTDISTIL_THREADS: '1' } });

const { dir, cleanup } = tempDir();
after(cleanup);
const pt = checkpointPaths('esm2_t3_tiny').pt;
const hf = checkpointPaths('esm1b_t3_tiny').hf;

// A small labelled task: three families told apart by composition (so the floor must find them).
const motifs: Record<string, string> = { alpha: 'AKLEELAKK', beta: 'VTVTVYVSG', gamma: 'PGPPGPCGH' };
function table(path: string, perClass: number, offset: number, extra: string[] = []): void {
  const lines = ['accession\tsequence\tfamily'];
  let k = 0;
  for (const [fam, m] of Object.entries(motifs)) {
    for (let i = 0; i < perClass; i++) {
      const filler = 'ACDEFGHIKLMNPQRSTVWY'.repeat(2).slice((i + offset) % 20, ((i + offset) % 20) + 7);
      lines.push(`${fam}${offset}_${k++}\t${m}${filler}${m.slice(0, 4 + (i % 4))}\t${fam}`);
    }
  }
  writeFileSync(path, `${[...lines, ...extra].join('\n')}\n`);
}
const train = join(dir, 'train.tsv');
const valid = join(dir, 'valid.tsv');
table(train, 10, 0);
table(valid, 4, 3, ['odd1\tMKKLLPAGHW\tdelta']);

test('eval probe: models x poolings x sizes with the composition floor, unseen labels reported, cache reused', () => {
  const out = join(dir, 'probe');
  const args = ['eval', 'probe', `small=${pt}`, hf, '--train', train, '--valid', valid, '--train-sizes', '6,all', '--cache', join(dir, 'cache'), '--out', out];
  const r = run(args);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(readFileSync(join(out, 'probe.json'), 'utf8')) as { rows: { model: string; pooling: string; results: { trainRows: number; C: number; splits: { split: string; metrics: { accuracy: number; macroF1: number }; unseen: { rows: number; labels: string[] }; perClass: unknown[] }[] }[] }[] };
  assert.deepEqual(json.rows.map((x) => `${x.model}/${x.pooling}`), ['composition (AAC + DPC)/composition', 'small/cls', 'small/mean', 'hf/cls', 'hf/mean']);
  for (const row of json.rows) {
    assert.deepEqual(row.results.map((x) => x.trainRows), [6, 30]);
    for (const res of row.results) {
      const s = res.splits[0] as (typeof res.splits)[number];
      assert.equal(s.split, 'valid');
      assert.deepEqual(s.unseen, { rows: 1, labels: ['delta'] });
      assert.equal(s.perClass.length, 4);
      assert.ok([0.01, 0.1, 1, 10].includes(res.C));
    }
  }
  // The composition floor separates these families (the 'delta' row is always wrong: 12 of 13 at best).
  const comp = json.rows[0]?.results[1]?.splits[0]?.metrics;
  assert.ok(comp !== undefined && comp.accuracy > 0.75, JSON.stringify(comp));
  assert.match(r.stdout, /1 valid row\(s\) carry label\(s\) absent from training \(delta\)/);
  assert.match(readFileSync(join(out, 'probe.md'), 'utf8'), /macro-F1 by training size/);
  const again = run(args);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /embeddings of small valid: from the cache/);
  assert.equal(again.stdout.split('\n').slice(0, -3).join('\n'), r.stdout.split('\n').slice(0, -3).join('\n'));
});

test('eval tsne: the same seed gives the same map; PNG and SVG written', () => {
  const a = join(dir, 'map-a');
  const b = join(dir, 'map-b');
  for (const p of [a, b]) {
    const r = run(['eval', 'tsne', pt, '--data', train, '--perplexity', '5', '--iterations', '60', '--cache', join(dir, 'cache'), '--out', p]);
    assert.equal(r.status, 0, r.stderr);
  }
  assert.ok(existsSync(`${a}.png`));
  assert.equal(readFileSync(`${a}.svg`, 'utf8'), readFileSync(`${b}.svg`, 'utf8'));
});

test('eval tsne --method umap: the same seed gives the same map', () => {
  const a = join(dir, 'umap-a');
  const b = join(dir, 'umap-b');
  for (const p of [a, b]) {
    const r = run(['eval', 'tsne', pt, '--data', train, '--method', 'umap', '--neighbours', '5', '--cache', join(dir, 'cache'), '--out', p]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^UMAP maps of \d+ sequences by 1 model/);
  }
  assert.ok(existsSync(`${a}.png`));
  assert.equal(readFileSync(`${a}.svg`, 'utf8'), readFileSync(`${b}.svg`, 'utf8'));
  assert.match(readFileSync(`${a}.svg`, 'utf8'), /UMAP of/);
});

test('eval report writes json, md and png together; a failing config writes nothing', () => {
  const fasta = join(dir, 'ppl.fasta');
  writeFileSync(fasta, '>a\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n>b\nMSEQNNTEMTFQIQRIYTKDISFEAPNAPHVFQK\n');
  const cfg = join(dir, 'report.json');
  writeFileSync(cfg, JSON.stringify({
    models: [{ name: 'small', path: pt }],
    out: 'rep',
    cache: 'cache',
    perplexity: { fasta: ['ppl.fasta'], ngramTrain: 'ppl.fasta', rules: ['pure', 'bert'] },
    tasks: [{ name: 'toy', train: 'train.tsv', valid: 'valid.tsv', trainSizes: ['all'], poolings: ['mean'] }],
    tsne: { task: 'toy', split: 'valid', perplexity: 3, iterations: 30 },
  }));
  const r = run(['eval', 'report', cfg]);
  assert.equal(r.status, 0, r.stderr);
  const out = join(dir, 'rep');
  assert.deepEqual(readdirSync(out).sort(), ['eval_report.json', 'eval_report.md', 'eval_report.png']);
  const md = readFileSync(join(out, 'eval_report.md'), 'utf8');
  assert.match(md, /\| small +\| pure +\|/);
  assert.match(md, /\| small +\| bert +\|/);
  assert.match(md, /floor: unigram/);
  assert.match(md, /## Probe: toy/);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ models: [pt], out: 'rep-bad', tasks: [{ name: 'toy', train: 'train.tsv', valid: 'valid.tsv', labelCol: 'nope' }] }));
  const f = run(['eval', 'report', bad]);
  assert.equal(f.status, 1);
  assert.match(f.stderr, /no column 'nope'/);
  assert.ok(!existsSync(join(dir, 'rep-bad')));
});

test('bad input gives one clear error line and a non-zero exit', () => {
  const empty = join(dir, 'empty.tsv');
  writeFileSync(empty, '');
  const headerOnly = join(dir, 'header.tsv');
  writeFileSync(headerOnly, 'accession\tsequence\tfamily\n');
  const cases: [string[], RegExp][] = [
    [['eval', 'probe', pt, '--train', train, '--valid', valid, '--label-col', 'nope'], /config error: .*no column 'nope' \(--label-col\); the header has: accession, sequence, family/],
    [['eval', 'probe', pt, '--train', empty, '--valid', valid], /data error: .*empty\.tsv: the file is empty/],
    [['eval', 'probe', pt, '--train', headerOnly, '--valid', valid], /data error: .*no rows after the header/],
    [['eval', 'probe', pt, '--train', train, '--valid', valid, '--train-sizes', '1'], /--train-sizes: '1' is not 'all' or an integer >= 2/],
    [['eval', 'probe', pt, '--train', train, '--valid', valid, '--pooling', 'max'], /--pooling: unknown value 'max'/],
    [['eval', 'probe', pt, '--train', train, '--valid', valid, '--grid', '0'], /--grid must be a number > 0/],
    [['eval', 'probe', join(dir, 'none.pt'), '--train', train, '--valid', valid], /io error: model .*none\.pt not found/],
    [['eval', 'ngram', '--train', join(dir, 'missing.fasta'), '--fasta', join(dir, 'missing.fasta')], /io error: .*missing\.fasta/],
    [['eval', 'perplexity', pt, '--fasta', train, '--rule', 'half'], /--rule: unknown value 'half'/],
    [['eval', 'tsne', pt, '--data', valid, '--perplexity', '50', '--cache', join(dir, 'cache-tsne')], /--perplexity must be > 0 and below the number of points/],
    [['eval', 'tsne', pt, '--data', valid, '--method', 'pca', '--cache', join(dir, 'cache-tsne')], /--method must be 'tsne' or 'umap', got 'pca'/],
    [['eval', 'tsne', pt, '--data', valid, '--method', 'umap', '--neighbours', '500', '--cache', join(dir, 'cache-tsne')], /--neighbours must be an integer >= 2 and below the number of points/],
    [['eval', 'report', join(dir, 'nothing.json')], /io error: .*nothing\.json: no such file/],
  ];
  for (const [args, pattern] of cases) {
    const r = run(args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('model '));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] as string, pattern);
  }
  assert.ok(!existsSync(join(dir, 'cache-tsne')), 'a refused t-SNE setting embeds nothing');
});
