import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkpointError } from '../../src/errors.js';
import { RandomAccessFile } from '../../src/io/random-access-file.js';
import { writeStreamedAtomic } from '../../src/io/streamed-write.js';
import { ZipReader } from '../../src/io/zip-reader.js';
import { crc32, writeZip, type ZipInput } from '../../src/io/zip-writer.js';
import { assertFails, ioFixture, tempDir } from './helpers.js';

const tmp = tempDir();
after(tmp.cleanup);

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function withZip<T>(path: string, fn: (zip: ZipReader) => T): T {
  return RandomAccessFile.with(path, checkpointError, (file) => fn(ZipReader.open(file)));
}

function makeZip(name: string, entries: ZipInput[], forceZip64 = false): string {
  const p = join(tmp.dir, name);
  writeStreamedAtomic(p, (sink) => writeZip(sink, entries, { forceZip64 }));
  return p;
}

describe('ZipReader', () => {
  it('reads an archive written by Python zipfile', () => {
    withZip(ioFixture('pt', 'not-torch.zip'), (zip) => {
      assert.deepEqual([...zip.entries.keys()], ['readme.txt']);
      assert.equal(new TextDecoder().decode(zip.read(zip.entry('readme.txt')!)), 'hello');
    });
  });

  it('reads DEFLATE entries written by Python zipfile', () => {
    withZip(ioFixture('pt', 'float2d-deflate.pt'), (zip) => {
      const pkl = zip.entry('float2d/data.pkl')!;
      assert.equal(pkl.method, 8);
      assert.deepEqual(zip.read(pkl).subarray(0, 2), Uint8Array.from([0x80, 2]));
    });
  });

  for (const forceZip64 of [false, true]) {
    it(`reads byte ranges of its own archives (zip64 ${forceZip64 ? 'forced' : 'off'})`, () => {
      const data = Uint8Array.from({ length: 300 }, (_, i) => i % 256);
      const p = makeZip(`ranges-${forceZip64}.zip`, [{ name: 'a/b.bin', data }, { name: 'a/c.txt', data: text('xyz') }], forceZip64);
      withZip(p, (zip) => {
        const e = zip.entry('a/b.bin')!;
        assert.deepEqual([e.size, e.compressedSize, e.method], [300, 300, 0]);
        assert.deepEqual(zip.readRange(e, 250, 5), Uint8Array.from([250, 251, 252, 253, 254]));
        assert.equal(new TextDecoder().decode(zip.read(zip.entry('a/c.txt')!)), 'xyz');
        assertFails(() => zip.readRange(e, 299, 2), 'checkpoint', "'a/b.bin' has 300 bytes", 'bytes 299..301');
      });
    });
  }

  it('rejects files without an end record, and truncated data', () => {
    const notZip = join(tmp.dir, 'plain.bin');
    writeFileSync(notZip, text('definitely not a zip archive'));
    assertFails(() => withZip(notZip, () => 0), 'checkpoint', 'plain.bin', 'no end-of-central-directory record');
    const p = makeZip('cut.zip', [{ name: 'x', data: new Uint8Array(100) }]);
    const bytes = readFileSync(p);
    // Move the central directory + end record 60 bytes earlier, cutting into x's data.
    const tail = bytes.subarray(bytes.length - (46 + 1 + 22));
    const cut = new Uint8Array(bytes.length - 60);
    cut.set(bytes.subarray(0, cut.length - tail.length));
    cut.set(tail, cut.length - tail.length);
    writeFileSync(p, cut);
    assertFails(() => withZip(p, () => 0), 'checkpoint', 'cut.zip', 'central directory');
  });

  it('rejects unsupported compression and encryption, and CRC mismatches', () => {
    const p = makeZip('methods.zip', [{ name: 'm', data: text('abcd') }]);
    const bytes = readFileSync(p);
    const cdAt = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const method = Buffer.from(bytes);
    method.writeUInt16LE(12, cdAt + 10);
    writeFileSync(join(tmp.dir, 'bzip.zip'), method);
    assertFails(() => withZip(join(tmp.dir, 'bzip.zip'), (z) => z.read(z.entry('m')!)), 'checkpoint', "'m'", 'compression method 12');
    const enc = Buffer.from(bytes);
    enc.writeUInt16LE(1, cdAt + 8);
    writeFileSync(join(tmp.dir, 'enc.zip'), enc);
    assertFails(() => withZip(join(tmp.dir, 'enc.zip'), (z) => z.read(z.entry('m')!)), 'checkpoint', 'encrypted');
    const bad = Buffer.from(bytes);
    bad[bad.indexOf(Buffer.from('abcd'))] = 0x41;
    writeFileSync(join(tmp.dir, 'crc.zip'), bad);
    assertFails(() => withZip(join(tmp.dir, 'crc.zip'), (z) => z.read(z.entry('m')!)), 'checkpoint', "'m' fails its CRC-32 check");
  });
});

describe('crc32', () => {
  it('matches the standard check value', () => {
    assert.equal(crc32(text('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });
});
