import * as zlib from 'node:zlib';
import { checkpointError } from '../errors.js';
import type { RandomAccessFile } from './random-access-file.js';

/**
 * Reading zip archives by offset (PKWARE APPNOTE 6.3: end-of-central-directory record, central
 * directory, local headers; zip64 records for archives past 4 GiB). Only the central directory is
 * read up front; entry data is read on request, STORED entries by byte range without reading the
 * rest, DEFLATE entries inflated whole.
 */

/** One file in the archive, as its central-directory record describes it. */
export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

/** A zip archive opened from a random-access file (which the caller owns and closes). */
export class ZipReader {
  private readonly dataOffsets = new Map<string, number>();
  private inflated: { name: string; bytes: Uint8Array } | null = null;

  private constructor(
    private readonly file: RandomAccessFile,
    /** Entries by name, in central-directory order. */
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  /** Parses the end records and central directory of `file`. */
  static open(file: RandomAccessFile): ZipReader {
    const { count, cdOffset, cdSize } = readEndRecords(file);
    const cd = file.read(cdOffset, cdSize, 'the zip central directory');
    return new ZipReader(file, parseCentralDirectory(file.path, cd, count));
  }

  get path(): string {
    return this.file.path;
  }

  /** The entry called `name`, or undefined. */
  entry(name: string): ZipEntry | undefined {
    return this.entries.get(name);
  }

  /** Reads and (if needed) inflates a whole entry, checking its CRC-32. */
  read(entry: ZipEntry): Uint8Array {
    const bytes = this.readRange(entry, 0, entry.size);
    if (typeof zlib.crc32 === 'function' && (zlib.crc32(bytes) >>> 0) !== entry.crc32) {
      throw checkpointError(`${this.path}: zip entry '${entry.name}' fails its CRC-32 check (corrupt file)`);
    }
    return bytes;
  }

  /** Reads `length` uncompressed bytes of `entry` starting at `offset`. */
  readRange(entry: ZipEntry, offset: number, length: number): Uint8Array {
    if (offset < 0 || offset + length > entry.size) {
      throw checkpointError(
        `${this.path}: zip entry '${entry.name}' has ${entry.size} bytes, cannot read bytes ${offset}..${offset + length}`,
      );
    }
    if (entry.flags & 1) throw checkpointError(`${this.path}: zip entry '${entry.name}' is encrypted`);
    const start = this.dataOffset(entry);
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.size) {
        throw checkpointError(
          `${this.path}: stored zip entry '${entry.name}' has compressed size ${entry.compressedSize} != size ${entry.size}`,
        );
      }
      return this.file.read(start + offset, length, `zip entry '${entry.name}'`);
    }
    if (entry.method === 8) return new Uint8Array(this.inflate(entry, start).subarray(offset, offset + length));
    throw checkpointError(
      `${this.path}: zip entry '${entry.name}' uses compression method ${entry.method} (supported: 0 stored, 8 deflate)`,
    );
  }

  /** Absolute file offset of an entry's data, from its local header (whose extra field may differ). */
  dataOffset(entry: ZipEntry): number {
    const cached = this.dataOffsets.get(entry.name);
    if (cached !== undefined) return cached;
    const what = `the local header of zip entry '${entry.name}'`;
    const h = this.file.read(entry.localHeaderOffset, 30, what);
    const v = new DataView(h.buffer);
    if (v.getUint32(0, true) !== SIG_LOCAL) {
      throw checkpointError(`${this.path}: ${what} at byte ${entry.localHeaderOffset} has a bad signature`);
    }
    const start = entry.localHeaderOffset + 30 + v.getUint16(26, true) + v.getUint16(28, true);
    if (start + entry.compressedSize > this.file.size) {
      throw checkpointError(
        `${this.path}: truncated file: zip entry '${entry.name}' needs bytes ${start}..${start + entry.compressedSize} ` +
          `but the file has ${this.file.size} bytes`,
      );
    }
    this.dataOffsets.set(entry.name, start);
    return start;
  }

  private inflate(entry: ZipEntry, start: number): Uint8Array {
    if (this.inflated?.name === entry.name) return this.inflated.bytes;
    const packed = this.file.read(start, entry.compressedSize, `zip entry '${entry.name}'`);
    let bytes: Uint8Array;
    try {
      const out = zlib.inflateRawSync(packed);
      bytes = new Uint8Array(out.buffer, out.byteOffset, out.length);
    } catch (e) {
      throw checkpointError(`${this.path}: zip entry '${entry.name}' does not inflate: ${(e as Error).message}`, e);
    }
    if (bytes.length !== entry.size) {
      throw checkpointError(`${this.path}: zip entry '${entry.name}' inflates to ${bytes.length} bytes, expected ${entry.size}`);
    }
    this.inflated = { name: entry.name, bytes };
    return bytes;
  }
}

function readEndRecords(file: RandomAccessFile): { count: number; cdOffset: number; cdSize: number } {
  const path = file.path;
  const tailLen = Math.min(file.size, EOCD_SIZE + MAX_COMMENT);
  const tailStart = file.size - tailLen;
  const tail = file.read(tailStart, tailLen, 'the zip end record');
  const tv = new DataView(tail.buffer);
  let at = -1;
  for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
    if (tv.getUint32(i, true) === SIG_EOCD && i + EOCD_SIZE + tv.getUint16(i + 20, true) <= tailLen) {
      at = i;
      break;
    }
  }
  if (at < 0) throw checkpointError(`${path}: not a zip archive or truncated: no end-of-central-directory record`);
  const eocd = tailStart + at;
  let count = tv.getUint16(at + 10, true);
  let cdSize = tv.getUint32(at + 12, true);
  let cdOffset = tv.getUint32(at + 16, true);
  if (eocd >= 20) {
    const loc = file.read(eocd - 20, 20, 'the zip64 locator');
    const lv = new DataView(loc.buffer);
    if (lv.getUint32(0, true) === SIG_ZIP64_LOCATOR) {
      const recOffset = safe(path, lv.getBigUint64(8, true), 'zip64 end record offset');
      const rec = file.read(recOffset, 56, 'the zip64 end record');
      const rv = new DataView(rec.buffer);
      if (rv.getUint32(0, true) !== SIG_ZIP64_EOCD) throw checkpointError(`${path}: zip64 end record has a bad signature`);
      count = safe(path, rv.getBigUint64(32, true), 'zip64 entry count');
      cdSize = safe(path, rv.getBigUint64(40, true), 'zip64 central directory size');
      cdOffset = safe(path, rv.getBigUint64(48, true), 'zip64 central directory offset');
    }
  }
  if (cdOffset + cdSize > eocd) {
    throw checkpointError(
      `${path}: zip central directory (bytes ${cdOffset}..${cdOffset + cdSize}) runs past its end record at ${eocd} (truncated or corrupt)`,
    );
  }
  return { count, cdOffset, cdSize };
}

function parseCentralDirectory(path: string, cd: Uint8Array, count: number): Map<string, ZipEntry> {
  const v = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const entries = new Map<string, ZipEntry>();
  const names = new TextDecoder();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || v.getUint32(p, true) !== SIG_CENTRAL) {
      throw checkpointError(`${path}: zip central directory record ${i} of ${count} is missing or corrupt`);
    }
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > cd.length) throw checkpointError(`${path}: zip central directory record ${i} runs past the directory`);
    const name = names.decode(cd.subarray(p + 46, p + 46 + nameLen));
    let compressedSize = v.getUint32(p + 20, true);
    let size = v.getUint32(p + 24, true);
    let localHeaderOffset = v.getUint32(p + 42, true);
    // Zip64 extended information (header id 1) holds, in order, each field saturated at 0xFFFFFFFF.
    for (let x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = v.getUint16(x, true);
      const len = v.getUint16(x + 2, true);
      if (id === 0x0001) {
        let f = x + 4;
        const next = (what: string): number => {
          if (f + 8 > x + 4 + len) throw checkpointError(`${path}: zip entry '${name}' has a short zip64 field (${what})`);
          const value = safe(path, v.getBigUint64(f, true), `${what} of '${name}'`);
          f += 8;
          return value;
        };
        if (size === 0xffffffff) size = next('size');
        if (compressedSize === 0xffffffff) compressedSize = next('compressed size');
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next('local header offset');
      }
      x += 4 + len;
    }
    entries.set(name, {
      name,
      method: v.getUint16(p + 10, true),
      flags: v.getUint16(p + 8, true),
      crc32: v.getUint32(p + 16, true),
      compressedSize,
      size,
      localHeaderOffset,
    });
    p = end;
  }
  return entries;
}

function safe(path: string, v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw checkpointError(`${path}: ${what} ${v} is too large`);
  return Number(v);
}
