import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { LineSplitter, readLines, sniffCompression, splitLines } from '../../src/data/text-lines.js';
import { isProtdistilError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'protdistil-lines-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of it) out.push(line);
  return out;
}

async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

test('universal newlines: \\n, \\r\\n and lone \\r all end a line', () => {
  assert.deepEqual(splitLines('a\nb\r\nc\rd'), ['a', 'b', 'c', 'd']);
  assert.deepEqual(splitLines('a\n'), ['a']);
  assert.deepEqual(splitLines('a'), ['a']);
  assert.deepEqual(splitLines(''), []);
  assert.deepEqual(splitLines('\n'), ['']);
  assert.deepEqual(splitLines('a\r'), ['a']);
  assert.deepEqual(splitLines('a\r\n\r\n'), ['a', '']);
  assert.deepEqual(splitLines('\r\r\n\n'), ['', '', '']);
});

test('line splitting does not depend on where chunks end', () => {
  const text = '>x y\r\nMK\rVL\n\n>z\r\n\rA\r';
  const want = ['>x y', 'MK', 'VL', '', '>z', '', 'A'];
  assert.deepEqual(splitLines(text), want);
  for (let a = 0; a <= text.length; a++) {
    for (let b = a; b <= text.length; b++) {
      const s = new LineSplitter();
      const got = [...s.push(text.slice(0, a)), ...s.push(text.slice(a, b)), ...s.push(text.slice(b)), ...s.end()];
      assert.deepEqual(got, want, `cuts at ${a}, ${b}`);
    }
  }
});

test('compression is recognised by magic bytes', () => {
  assert.equal(sniffCompression(gzipSync('x')), 'gzip');
  assert.equal(sniffCompression(Buffer.from('BZh91AY')), 'bzip2');
  assert.equal(sniffCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), 'xz');
  assert.equal(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0])), 'zstd');
  assert.equal(sniffCompression(Buffer.from('>seq\nMK')), 'none');
  assert.equal(sniffCompression(Buffer.from([0x1f])), 'none');
});

test('reads plain and gzip files, gzip detected without a .gz name', async () => {
  const text = '\ufeff>a\r\nMKV\n>b\nLL';
  const plain = join(dir, 'plain.txt');
  const gz = join(dir, 'packed.txt');
  writeFileSync(plain, text);
  writeFileSync(gz, gzipSync(text));
  const want = ['>a', 'MKV', '>b', 'LL'];
  assert.deepEqual(await collect(readLines(plain)), want);
  assert.deepEqual(await collect(readLines(gz)), want);
});

test('multi-member gzip is read to the end', async () => {
  const p = join(dir, 'multi.gz');
  writeFileSync(p, Buffer.concat([gzipSync('one\ntw'), gzipSync('o\nthree\n')]));
  assert.deepEqual(await collect(readLines(p)), ['one', 'two', 'three']);
});

test('byte streams split anywhere, even inside a UTF-8 character, decode correctly', async () => {
  const bytes = Buffer.from('>é α\nAC\r\nβ\n', 'utf8');
  for (const size of [1, 2, 3, 5, 64]) {
    assert.deepEqual(await collect(readLines(chunksOf(bytes, size), 's')), ['>é α', 'AC', 'β']);
    assert.deepEqual(await collect(readLines(chunksOf(gzipSync(bytes), size), 's')), ['>é α', 'AC', 'β']);
  }
});

test('corrupt, truncated and foreign-compressed input give data errors naming the file', async () => {
  const good = gzipSync(Array.from({ length: 200 }, (_, i) => `>s${i}\nMK${(i * 7919) % 1000}V`).join('\n'));
  const corrupt = Buffer.from(good);
  corrupt.fill(0x55, 12, 40);
  const cases: [string, Uint8Array, RegExp][] = [
    ['corrupt.fa.gz', corrupt, /corrupt/],
    ['cut.fa.gz', good.subarray(0, good.length - 10), /truncated/],
    ['x.fa.bz2', Buffer.from('BZh91AY&SY'), /bzip2-compressed/],
  ];
  for (const [name, bytes, pattern] of cases) {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    await assert.rejects(collect(readLines(p)), (e) => {
      assert.ok(isProtdistilError(e, 'data'), String(e));
      assert.match(e.message, pattern);
      assert.ok(e.message.includes(p), e.message);
      return true;
    });
  }
});

test('a missing file is an io error naming the path', async () => {
  const p = join(dir, 'nope.fa');
  await assert.rejects(collect(readLines(p)), (e) => isProtdistilError(e, 'io') && e.message.includes(p));
});

test('lines are pulled from the source on demand and breaking out stops the source', async () => {
  let produced = 0;
  let closed = false;
  async function* source(): AsyncGenerator<Uint8Array> {
    try {
      for (let i = 0; i < 100_000; i++) {
        produced++;
        yield Buffer.from(`line ${i}\n`);
      }
    } finally {
      closed = true;
    }
  }
  let seen = 0;
  for await (const line of readLines(source(), 'lazy')) {
    assert.equal(line, `line ${seen}`);
    if (++seen === 10) break;
  }
  assert.ok(produced < 100, `only a few chunks were read (${produced})`);
  assert.ok(closed, 'the source was closed');
});
