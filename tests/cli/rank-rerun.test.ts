import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * A second `protdistil rank` into the same --out (what a second `npm start` does) succeeds,
 * replaces the earlier results, and says so: once before the run, and per file in the list of
 * files written. A first run into an empty directory says nothing of the kind.
 */

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const TINY = ['--teachers', 'random', '--synthetic-train', '120', '--synthetic-val', '30', '--synthetic-dim', '16', '--rank', '2', '--steps', '5', '--batch-size', '16', '--sweep', '2', '--latency-repeats', '1', '--latency-warmup', '0', '--latency-batches', '32'];
const FILES = ['distil_rank_summary.json', 'distil_rank_details.json', 'distil_rank_final_report.png', 'distil_rank_final_report.svg', 'distil_rank_report.md'];

function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, PROTDISTIL_THREADS: '1' }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

const work = mkdtempSync(join(tmpdir(), 'protdistil-rank-rerun-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('a rerun into the same --out succeeds and says it replaces the earlier results', async () => {
  const out = join(work, 'results');
  const first = await cli(['rank', ...TINY, '--out', out]);
  assert.equal(first.code, 0, first.stderr);
  assert.doesNotMatch(first.stderr, /earlier run/);
  assert.doesNotMatch(first.stdout, /replaced/);
  for (const f of FILES) assert.match(first.stdout, new RegExp(`^  ${join(out, f).replace(/[.\\/]/g, '\\$&')}$`, 'm'), f);

  writeFileSync(join(out, 'distil_rank_report.md'), 'an earlier report\n');
  const second = await cli(['rank', ...TINY, '--out', out]);
  assert.equal(second.code, 0, second.stderr);
  const note = second.stderr.split('\n').find((l) => l.startsWith('note: --out'));
  assert.ok(note !== undefined, `no note on stderr:\n${second.stderr}`);
  for (const f of FILES) {
    assert.ok(note.includes(f), `note names ${f}: ${note}`);
    assert.match(second.stdout, new RegExp(`^  ${join(out, f).replace(/[.\\/]/g, '\\$&')}  \\(replaced the earlier file\\)$`, 'm'), f);
  }
  assert.match(note, /replaces them when it finishes/);
  assert.notEqual(readFileSync(join(out, 'distil_rank_report.md'), 'utf8'), 'an earlier report\n', 'the new run wrote its report');
});
