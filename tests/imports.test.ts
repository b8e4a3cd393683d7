import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * Every module under src/ can be the first one a program imports: each is imported alone in a
 * fresh Node process (a module cycle that only works in one import order fails here with a
 * ReferenceError such as "Cannot access 'BINARY' before initialization"). The CLI entry point
 * runs its program on import, so it is started as a program instead, with `--version`.
 */

const DIST_SRC = fileURLToPath(new URL('../src/', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = 'cli/main.js';

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return modules(p);
    return e.name.endsWith('.js') ? [relative(DIST_SRC, p)] : [];
  });
}

interface Outcome { readonly code: number; readonly stdout: string; readonly stderr: string }

function node(args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...args], { cwd: REPO, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `jobs` with at most `limit` in flight. */
async function pool<T>(jobs: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await (jobs[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return out;
}

test('each src module imports alone in a fresh process', async () => {
  const all = modules(DIST_SRC).sort();
  assert.ok(all.length > 50 && all.includes('ops/elementwise.js') && all.includes('tensor/tensor.js'), `found ${all.length} modules`);
  const libs = all.filter((m) => m !== ENTRY);
  const results = await pool(libs.map((m) => () => node(['--input-type=module', '-e', `await import(${JSON.stringify(join(DIST_SRC, m))});`])), Math.min(4, availableParallelism()));
  const failed = libs.flatMap((m, i) => {
    const r = results[i] as Outcome;
    return r.code === 0 ? [] : [`${m}: ${r.stderr.split('\n').find((l) => /Error/.test(l)) ?? r.stderr.trim()}`];
  });
  assert.deepEqual(failed, []);
});

test('the CLI entry point runs alone and reports the version of the package.json beside it', async () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const r = await node([join(DIST_SRC, ENTRY), '--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), pkg.version);
  // A copy of the package with another version: --version follows package.json, not a literal.
  const tmp = mkdtempSync(join(tmpdir(), 'protdistil-version-'));
  try {
    cpSync(DIST_SRC, join(tmp, 'dist', 'src'), { recursive: true });
    symlinkSync(join(REPO, 'node_modules'), join(tmp, 'node_modules'), 'dir');
    writeFileSync(join(tmp, 'package.json'), JSON.stringify({ ...pkg, version: '9.8.7-version-test' }));
    const copy = await node([join(tmp, 'dist', 'src', ENTRY), '--version']);
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal(copy.stdout.trim(), '9.8.7-version-test');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
