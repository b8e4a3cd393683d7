import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, PROTDISTIL_THREADS: '1' } });

test('demo trains and prints a falling loss', () => {
  const r = run(['demo', '--steps', '40', '--batch-size', '8', '--length', '12']);
  assert.equal(r.status, 0, r.stderr);
  const losses = [...r.stdout.matchAll(/loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
  assert.ok(losses.length >= 5, r.stdout);
  assert.ok((losses.at(-1) as number) < (losses[0] as number), `loss should fall: ${losses.join(', ')}`);
  assert.match(r.stdout, /trained 40 steps/);
});

test('bad flags give one clear error line and a non-zero exit', () => {
  const r = run(['demo', '--steps', 'many']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^protdistil: config error: --steps must be an integer >= 1, got 'many'/);
  const u = run(['no-such-command']);
  assert.equal(u.status, 2);
});
