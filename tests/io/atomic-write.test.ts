import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isProtdistilError } from '../../src/errors.js';
import { toJsonText, writeFileAtomic, writeFilesAtomic, writeJsonAtomic } from '../../src/io/atomic-write.js';

const root = mkdtempSync(join(tmpdir(), 'protdistil-atomic-'));
after(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** A fresh empty directory per test, so leftover temp files are attributable. */
function freshDir(): string {
  const dir = join(root, `case-${counter++}`);
  mkdirSync(dir);
  return dir;
}

/** Names in `dir` that look like our temp files. */
function tempFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.includes('.tmp-'));
}

describe('writeFileAtomic', () => {
  it('writes strings and bytes and leaves no temp file', () => {
    const dir = freshDir();
    writeFileAtomic(join(dir, 'a.txt'), 'héllo\n');
    writeFileAtomic(join(dir, 'b.bin'), new Uint8Array([0, 1, 2, 255]));
    assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'héllo\n');
    assert.deepEqual([...readFileSync(join(dir, 'b.bin'))], [0, 1, 2, 255]);
    assert.deepEqual(readdirSync(dir).sort(), ['a.txt', 'b.bin']);
  });

  it('creates missing parent directories', () => {
    const dir = freshDir();
    const target = join(dir, 'x', 'y', 'z.json');
    writeFileAtomic(target, '{}');
    assert.equal(readFileSync(target, 'utf8'), '{}');
  });

  it('replaces an existing file', () => {
    const dir = freshDir();
    const target = join(dir, 'r.txt');
    writeFileSync(target, 'old contents that are longer');
    writeFileAtomic(target, 'new');
    assert.equal(readFileSync(target, 'utf8'), 'new');
    assert.deepEqual(tempFiles(dir), []);
  });

  it('fails with an io error when the parent is a file', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'blocker'), 'i am a file');
    assert.throws(
      () => writeFileAtomic(join(dir, 'blocker', 'out.txt'), 'data'),
      (e: unknown) => isProtdistilError(e, 'io') && e.message.includes('blocker'),
    );
    assert.equal(readFileSync(join(dir, 'blocker'), 'utf8'), 'i am a file');
  });

  it('removes the temp file when the final rename fails', () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'taken'));
    writeFileSync(join(dir, 'taken', 'inside'), 'x');
    assert.throws(
      () => writeFileAtomic(join(dir, 'taken'), 'data'),
      (e: unknown) => isProtdistilError(e, 'io') && e.message.includes('taken'),
    );
    assert.deepEqual(tempFiles(dir), []);
  });
});

describe('writeJsonAtomic', () => {
  it('writes pretty JSON with a trailing newline', () => {
    const dir = freshDir();
    const target = join(dir, 'r.json');
    writeJsonAtomic(target, { model: 'esm2', ranks: [8, 16], loss: 0.5 });
    assert.equal(
      readFileSync(target, 'utf8'),
      '{\n  "model": "esm2",\n  "ranks": [\n    8,\n    16\n  ],\n  "loss": 0.5\n}\n',
    );
  });

  it('rejects NaN naming the key path and writes nothing', () => {
    const dir = freshDir();
    const target = join(dir, 'bad.json');
    assert.throws(
      () => writeJsonAtomic(target, { metrics: { loss: [0.1, 0.2, Number.NaN] } }),
      (e: unknown) => isProtdistilError(e, 'data') && e.message.includes('$.metrics.loss[2]') && e.message.includes('NaN'),
    );
    assert.equal(existsSync(target), false);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('rejects ±Infinity at top level, in arrays of objects and under non-identifier keys', () => {
    assert.throws(() => toJsonText(Number.POSITIVE_INFINITY), /value at \$ is Infinity/);
    assert.throws(() => toJsonText([{ a: 1 }, { a: Number.NEGATIVE_INFINITY }]), /value at \$\[1\]\.a is -Infinity/);
    assert.throws(() => toJsonText({ 'rank 8': { ok: 1, 'p@1': Number.NaN } }), /value at \$\["rank 8"\]\["p@1"\] is NaN/);
  });

  it('gives the right path for an object that appears twice', () => {
    const shared = { v: Number.NaN };
    assert.throws(() => toJsonText({ first: 1, second: shared }), /value at \$\.second\.v is NaN/);
  });

  it('rejects values with no JSON form', () => {
    assert.throws(() => toJsonText(undefined), (e: unknown) => isProtdistilError(e, 'data'));
    assert.throws(() => toJsonText({ n: 1n }), /value at \$\.n is a bigint/);
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    assert.throws(() => toJsonText(cyclic), (e: unknown) => isProtdistilError(e, 'data'));
  });
});

describe('writeFilesAtomic', () => {
  it('writes every file of the batch', () => {
    const dir = freshDir();
    writeFilesAtomic([
      { path: join(dir, 'a.json'), data: '{"a":1}\n' },
      { path: join(dir, 'sub', 'b.png'), data: new Uint8Array([137, 80]) },
    ]);
    assert.equal(readFileSync(join(dir, 'a.json'), 'utf8'), '{"a":1}\n');
    assert.deepEqual([...readFileSync(join(dir, 'sub', 'b.png'))], [137, 80]);
    assert.deepEqual(tempFiles(dir), []);
  });

  it('writes none of the files when one cannot be written', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'blocker'), 'file');
    writeFileSync(join(dir, 'a.json'), 'previous');
    assert.throws(
      () =>
        writeFilesAtomic([
          { path: join(dir, 'a.json'), data: 'new a' },
          { path: join(dir, 'c.json'), data: 'new c' },
          { path: join(dir, 'blocker', 'b.json'), data: 'new b' },
        ]),
      (e: unknown) => isProtdistilError(e, 'io') && e.message.includes('b.json'),
    );
    assert.equal(readFileSync(join(dir, 'a.json'), 'utf8'), 'previous');
    assert.equal(existsSync(join(dir, 'c.json')), false);
    assert.deepEqual(tempFiles(dir), []);
  });

  it('writes none of the files when a target is a directory', () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'taken'));
    assert.throws(
      () =>
        writeFilesAtomic([
          { path: join(dir, 'a.json'), data: 'a' },
          { path: join(dir, 'taken'), data: 'b' },
        ]),
      (e: unknown) => isProtdistilError(e, 'io') && e.message.includes('is a directory'),
    );
    assert.deepEqual(readdirSync(dir), ['taken']);
  });

  it('leaves no directory behind that it created for a batch that failed', () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'taken'));
    assert.throws(
      () =>
        writeFilesAtomic([
          { path: join(dir, 'results', 'deep', 'a.json'), data: 'a' },
          { path: join(dir, 'results', 'b.png'), data: 'b' },
          { path: join(dir, 'taken'), data: 'c' },
        ]),
      (e: unknown) => isProtdistilError(e, 'io') && e.message.includes('is a directory'),
    );
    assert.deepEqual(readdirSync(dir), ['taken']);
    // A directory that existed before is kept, even when the failed batch wrote into it.
    mkdirSync(join(dir, 'kept'));
    assert.throws(() => writeFilesAtomic([{ path: join(dir, 'kept', 'x.json'), data: 'x' }, { path: join(dir, 'taken'), data: 'y' }]));
    assert.deepEqual(readdirSync(dir).sort(), ['kept', 'taken']);
    assert.deepEqual(readdirSync(join(dir, 'kept')), []);
  });

  it('rejects a path listed twice', () => {
    const dir = freshDir();
    assert.throws(
      () =>
        writeFilesAtomic([
          { path: join(dir, 'a.json'), data: '1' },
          { path: join(dir, '.', 'a.json'), data: '2' },
        ]),
      /appears more than once/,
    );
    assert.deepEqual(readdirSync(dir), []);
  });
});
