import * as zlib from 'node:zlib';
import type { ByteSink } from './streamed-write.js';

/**
 * Writing STORED zip archives the way PyTorch's PyTorchStreamWriter does (PKWARE APPNOTE 6.3):
 * every entry's data starts at a multiple of `align` bytes, reached by padding the local header's
 * extra field with an "FB" record of 'Z' bytes; timestamps are fixed at 1980-01-01 so output is
 * reproducible. Zip64 records are written when sizes or offsets need them (or when forced).
 */

/** One file to store. */
export interface ZipInput {
  readonly name: string;
  readonly data: Uint8Array;
}

/** Options of `writeZip`. */
export interface ZipWriteOptions {
  /** Data alignment in bytes (PyTorch uses 64). */
  readonly align?: number;
  /** Write zip64 records even for a small archive (for tests and tools that expect them). */
  readonly forceZip64?: boolean;
}

const U32_MAX = 0xffffffff;
const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1;

interface Written {
  readonly name: Uint8Array;
  readonly flags: number;
  readonly crc: number;
  readonly size: number;
  readonly offset: number;
}

/** Streams `entries` to `sink` as a zip archive. */
export function writeZip(sink: ByteSink, entries: Iterable<ZipInput>, options: ZipWriteOptions = {}): void {
  const align = options.align ?? 64;
  const force = options.forceZip64 ?? false;
  const start = sink.offset;
  const written: Written[] = [];
  const encoder = new TextEncoder();
  for (const entry of entries) {
    const name = encoder.encode(entry.name);
    const offset = sink.offset - start;
    const size = entry.data.length;
    const zip64 = force || size >= U32_MAX || offset >= U32_MAX;
    const zip64Extra = zip64 ? 20 : 0;
    const base = offset + 30 + name.length + zip64Extra + 4;
    const pad = (align - (base % align)) % align;
    const header = new Uint8Array(30 + name.length + zip64Extra + 4 + pad);
    const v = new DataView(header.buffer);
    const crc = crc32(entry.data);
    v.setUint32(0, 0x04034b50, true);
    v.setUint16(4, zip64 ? 45 : 20, true);
    v.setUint16(6, flagsFor(entry.name), true);
    v.setUint16(8, 0, true); // method: stored
    v.setUint16(10, 0, true);
    v.setUint16(12, DOS_DATE_1980_01_01, true);
    v.setUint32(14, crc, true);
    v.setUint32(18, zip64 ? U32_MAX : size, true);
    v.setUint32(22, zip64 ? U32_MAX : size, true);
    v.setUint16(26, name.length, true);
    v.setUint16(28, zip64Extra + 4 + pad, true);
    header.set(name, 30);
    let x = 30 + name.length;
    if (zip64) {
      v.setUint16(x, 0x0001, true);
      v.setUint16(x + 2, 16, true);
      v.setBigUint64(x + 4, BigInt(size), true);
      v.setBigUint64(x + 12, BigInt(size), true);
      x += 20;
    }
    v.setUint16(x, 0x4246, true); // "FB"
    v.setUint16(x + 2, pad, true);
    header.fill(0x5a, x + 4); // 'Z'
    sink.write(header);
    sink.write(entry.data);
    written.push({ name, flags: flagsFor(entry.name), crc, size, offset });
  }
  const cdOffset = sink.offset - start;
  for (const w of written) sink.write(centralRecord(w, force));
  const cdSize = sink.offset - start - cdOffset;
  const count = written.length;
  if (force || count >= 0xffff || cdOffset >= U32_MAX || cdSize >= U32_MAX) {
    const recOffset = sink.offset - start;
    const rec = new Uint8Array(56 + 20);
    const r = new DataView(rec.buffer);
    r.setUint32(0, 0x06064b50, true);
    r.setBigUint64(4, 44n, true); // size of the rest of the record
    r.setUint16(12, 45, true);
    r.setUint16(14, 45, true);
    r.setBigUint64(24, BigInt(count), true);
    r.setBigUint64(32, BigInt(count), true);
    r.setBigUint64(40, BigInt(cdSize), true);
    r.setBigUint64(48, BigInt(cdOffset), true);
    r.setUint32(56, 0x07064b50, true); // locator
    r.setBigUint64(64, BigInt(recOffset), true);
    r.setUint32(72, 1, true); // total number of disks
    sink.write(rec);
  }
  const eocd = new Uint8Array(22);
  const e = new DataView(eocd.buffer);
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, Math.min(count, 0xffff), true);
  e.setUint16(10, Math.min(count, 0xffff), true);
  e.setUint32(12, force ? U32_MAX : Math.min(cdSize, U32_MAX), true);
  e.setUint32(16, force ? U32_MAX : Math.min(cdOffset, U32_MAX), true);
  sink.write(eocd);
}

function centralRecord(w: Written, force: boolean): Uint8Array {
  const bigSize = force || w.size >= U32_MAX;
  const bigOffset = force || w.offset >= U32_MAX;
  const fields = (bigSize ? 2 : 0) + (bigOffset ? 1 : 0);
  const extra = fields > 0 ? 4 + 8 * fields : 0;
  const rec = new Uint8Array(46 + w.name.length + extra);
  const v = new DataView(rec.buffer);
  v.setUint32(0, 0x02014b50, true);
  v.setUint16(4, fields > 0 ? 45 : 20, true);
  v.setUint16(6, fields > 0 ? 45 : 20, true);
  v.setUint16(8, w.flags, true);
  v.setUint16(14, DOS_DATE_1980_01_01, true);
  v.setUint32(16, w.crc, true);
  v.setUint32(20, bigSize ? U32_MAX : w.size, true);
  v.setUint32(24, bigSize ? U32_MAX : w.size, true);
  v.setUint16(28, w.name.length, true);
  v.setUint16(30, extra, true);
  v.setUint32(42, bigOffset ? U32_MAX : w.offset, true);
  rec.set(w.name, 46);
  if (fields > 0) {
    let x = 46 + w.name.length;
    v.setUint16(x, 0x0001, true);
    v.setUint16(x + 2, 8 * fields, true);
    x += 4;
    if (bigSize) {
      v.setBigUint64(x, BigInt(w.size), true); // uncompressed
      v.setBigUint64(x + 8, BigInt(w.size), true); // compressed
      x += 16;
    }
    if (bigOffset) v.setBigUint64(x, BigInt(w.offset), true);
  }
  return rec;
}

/** Bit 11 marks UTF-8 names; ASCII names need no flag. */
function flagsFor(name: string): number {
  return /^[\x20-\x7e]*$/.test(name) ? 0 : 0x0800;
}

let table: Uint32Array | undefined;

/** CRC-32 (IEEE), from node:zlib where available, else a table-driven fallback. */
export function crc32(data: Uint8Array): number {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(data) >>> 0;
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
