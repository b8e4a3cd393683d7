import { createHash, randomBytes, type Hash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { dataError, ioError, isProtdistilError, runtimeError } from '../errors.js';
import { RandomAccessFile } from '../io/random-access-file.js';
import { floatToHalf, halfToFloat, HOST_LITTLE_ENDIAN } from '../io/raw-dtype.js';
import { cacheKey, parseIdentity, type CacheIdentity } from './cache-identity.js';

/**
 * One shard file of a teacher-logit cache: the teacher's logits at the masked positions of the
 * sequences in one index range [start, end) of the FASTA, for every mask draw d < K.
 *
 * Layout (little-endian), written front to back in one pass and renamed into place when complete:
 *
 *     payload   entries in the order they were computed; entry (i, d) with m masked positions is
 *               m uint32 row positions (0 = BOS), then m × V logits (float32, or float16 bits)
 *     index     float64 byte offset[E], then uint32 count m[E]; entry e = (i − start)·K + d
 *     footer    UTF-8 JSON: key, identity, shard i/n, range, sizes, SHA-256 of the payload
 *     trailer   uint64 footer bytes, then the 8-byte magic `PDTLOG01`
 *
 * A shard cut short loses its trailer (or its sizes stop adding up to the file's), so truncation
 * is detected on open; `verifyPayload` re-hashes the payload (label-merge does).
 */

/** File-format name and version in every footer. */
export const SHARD_FORMAT = 'protdistil-teacher-logits';
export const SHARD_VERSION = 1;
const MAGIC = Buffer.from('PDTLOG01', 'latin1');
const TRAILER_BYTES = 16;

/** The shard's place in the split: shard `index` of `count` (1-based), covering sequences [start, end). */
export interface ShardPlace {
  readonly index: number;
  readonly count: number;
  readonly start: number;
  readonly end: number;
}

/** The parsed footer of a shard. */
export interface ShardFooter {
  readonly format: string;
  readonly version: number;
  readonly key: string;
  readonly identity: CacheIdentity;
  readonly shard: ShardPlace;
  /** Masked positions stored. */
  readonly positions: number;
  /** Row tokens (BOS + residues + EOS) the teacher saw, summed over draws. */
  readonly tokens: number;
  readonly payloadBytes: number;
  readonly payloadSha256: string;
  /** What the labelling run was (teacher description, FASTA name, timing): not part of the key. */
  readonly info: Readonly<Record<string, unknown>>;
}

/** File name of shard i of n inside a cache directory. */
export function shardFileName(index: number, count: number): string {
  const w = Math.max(5, String(count).length);
  return `shard-${String(index).padStart(w, '0')}-of-${String(count).padStart(w, '0')}.logits`;
}

/** The index is written and read as host-order typed arrays, which are little-endian on every supported platform. */
function littleEndianHost(): void {
  if (!HOST_LITTLE_ENDIAN) throw runtimeError('teacher-logit shards are little-endian files; this host is big-endian');
}

/** Bytes per stored logit. */
function elementBytes(id: CacheIdentity): number {
  return id.dtype === 'float16' ? 2 : 4;
}

/**
 * Writes one shard: entries go to a temp file beside the target as they are computed; `finish`
 * appends index, footer and trailer, flushes and renames; `abort` removes the temp file.
 */
export class ShardWriter {
  private fd: number | null;
  private offset = 0;
  private positions = 0;
  private tokens = 0;
  private readonly hash: Hash = createHash('sha256');
  private readonly offsets: Float64Array;
  private readonly counts: Uint32Array;
  private readonly written: Uint8Array;

  private constructor(
    readonly path: string,
    private readonly tmp: string,
    fd: number,
    readonly identity: CacheIdentity,
    readonly place: ShardPlace,
  ) {
    this.fd = fd;
    const n = (place.end - place.start) * identity.masks;
    this.offsets = new Float64Array(n);
    this.counts = new Uint32Array(n);
    this.written = new Uint8Array(n);
  }

  /** Opens the temp file of the shard at `path`. */
  static create(path: string, identity: CacheIdentity, place: ShardPlace): ShardWriter {
    littleEndianHost();
    const dir = dirname(path);
    const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      mkdirSync(dir, { recursive: true });
      return new ShardWriter(path, tmp, openSync(tmp, 'wx', 0o644), identity, place);
    } catch (e) {
      throw ioError(`cannot create the shard ${path}: ${(e as Error).message}`, e);
    }
  }

  /** Appends entry (sequence `i`, draw `d`): masked row positions (m) and their logits (m × V, row-major). */
  add(i: number, d: number, positions: Uint32Array, logits: Float32Array, rowTokens: number): void {
    const { start, end } = this.place;
    const V = this.identity.vocab;
    if (i < start || i >= end || d < 0 || d >= this.identity.masks) throw dataError(`shard ${this.place.index}/${this.place.count}: entry (sequence ${i}, draw ${d}) lies outside sequences ${start}..${end - 1}, draws 0..${this.identity.masks - 1}`);
    if (logits.length !== positions.length * V) throw dataError(`shard entry (sequence ${i}, draw ${d}): ${logits.length} logits for ${positions.length} positions × ${V}`);
    const e = (i - start) * this.identity.masks + d;
    if (this.written[e] === 1) throw dataError(`shard entry (sequence ${i}, draw ${d}) written twice`);
    const m = positions.length;
    const bytes = new Uint8Array(m * 4 + m * V * elementBytes(this.identity));
    const dv = new DataView(bytes.buffer);
    for (let j = 0; j < m; j++) dv.setUint32(j * 4, positions[j]!, true);
    const at = m * 4;
    if (this.identity.dtype === 'float16') for (let k = 0; k < logits.length; k++) dv.setUint16(at + 2 * k, floatToHalf(logits[k]!), true);
    else for (let k = 0; k < logits.length; k++) dv.setFloat32(at + 4 * k, logits[k]!, true);
    this.offsets[e] = this.offset;
    this.counts[e] = m;
    this.written[e] = 1;
    this.write(bytes);
    this.hash.update(bytes);
    this.positions += m;
    this.tokens += rowTokens;
  }

  /** Completes the shard: checks every entry was written, appends index + footer + trailer, renames into place. */
  finish(info: Readonly<Record<string, unknown>>): ShardFooter {
    const missing = this.written.indexOf(0);
    if (missing >= 0) {
      const K = this.identity.masks;
      throw dataError(`shard ${this.place.index}/${this.place.count} lacks entry (sequence ${this.place.start + Math.floor(missing / K)}, draw ${missing % K})`);
    }
    const footer: ShardFooter = {
      format: SHARD_FORMAT,
      version: SHARD_VERSION,
      key: cacheKey(this.identity),
      identity: this.identity,
      shard: this.place,
      positions: this.positions,
      tokens: this.tokens,
      payloadBytes: this.offset,
      payloadSha256: this.hash.digest('hex'),
      info,
    };
    this.write(new Uint8Array(this.offsets.buffer));
    this.write(new Uint8Array(this.counts.buffer));
    const json = Buffer.from(JSON.stringify(footer), 'utf8');
    this.write(json);
    const trailer = Buffer.alloc(TRAILER_BYTES);
    trailer.writeBigUInt64LE(BigInt(json.length), 0);
    MAGIC.copy(trailer, 8);
    this.write(trailer);
    try {
      fsyncSync(this.fd!);
      closeSync(this.fd!);
      this.fd = null;
      renameSync(this.tmp, this.path);
    } catch (e) {
      this.abort();
      throw ioError(`cannot write the shard ${this.path}: ${(e as Error).message}`, e);
    }
    return footer;
  }

  /** Removes the temp file (after a failure). */
  abort(): void {
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // Already failing.
      }
      this.fd = null;
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      // Renamed or never created.
    }
  }

  private write(bytes: Uint8Array): void {
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd!, bytes, done, bytes.length - done);
    } catch (e) {
      this.abort();
      throw ioError(`cannot write the shard ${this.path}: ${(e as Error).message}`, e);
    }
    this.offset += bytes.length;
  }
}

/** Reads one shard: footer and index on open (validating sizes), entries on demand. */
export class ShardReader {
  private constructor(
    readonly path: string,
    readonly footer: ShardFooter,
    private readonly file: RandomAccessFile,
    private readonly offsets: Float64Array,
    private readonly counts: Uint32Array,
  ) {}

  /** Opens and validates a shard file; a truncated or foreign file is a `data` error naming it. */
  static open(path: string): ShardReader {
    littleEndianHost();
    const bad = (why: string): Error => dataError(`${path} is not a complete teacher-logit shard: ${why}`);
    const file = RandomAccessFile.open(path, (m) => dataError(m));
    try {
      if (file.size < TRAILER_BYTES) throw bad(`only ${file.size} bytes (truncated?)`);
      const trailer = Buffer.from(file.read(file.size - TRAILER_BYTES, TRAILER_BYTES, 'trailer'));
      if (!trailer.subarray(8).equals(MAGIC)) throw bad('its end marker is missing (truncated, or not written by protdistil label)');
      const jsonBytes = Number(trailer.readBigUInt64LE(0));
      if (jsonBytes + TRAILER_BYTES > file.size) throw bad('its footer size exceeds the file');
      let footer: ShardFooter;
      try {
        footer = JSON.parse(Buffer.from(file.read(file.size - TRAILER_BYTES - jsonBytes, jsonBytes, 'footer')).toString('utf8')) as ShardFooter;
      } catch (e) {
        throw bad(`unreadable footer (${(e as Error).message})`);
      }
      if (footer.format !== SHARD_FORMAT) throw bad(`format '${String(footer.format)}'`);
      if (footer.version !== SHARD_VERSION) throw dataError(`${path}: teacher-logit shard version ${String(footer.version)}; this protdistil reads version ${SHARD_VERSION}`);
      const identity = parseIdentity(footer.identity);
      if (identity === null) throw bad('its identity record is incomplete');
      if (footer.key !== cacheKey(identity)) throw bad('its key does not match its identity record');
      const s = footer.shard;
      if (!(Number.isSafeInteger(s?.index) && Number.isSafeInteger(s?.count) && Number.isSafeInteger(s?.start) && Number.isSafeInteger(s?.end) && s.start <= s.end && s.end <= identity.sequences)) throw bad('its shard record is invalid');
      const E = (s.end - s.start) * identity.masks;
      const indexBytes = E * 12;
      if (footer.payloadBytes + indexBytes + jsonBytes + TRAILER_BYTES !== file.size) {
        throw bad(`its parts add up to ${footer.payloadBytes + indexBytes + jsonBytes + TRAILER_BYTES} bytes, the file has ${file.size} (truncated or damaged)`);
      }
      const offsets = new Float64Array(E);
      file.readInto(footer.payloadBytes, new Uint8Array(offsets.buffer), 'index');
      const counts = new Uint32Array(E);
      file.readInto(footer.payloadBytes + E * 8, new Uint8Array(counts.buffer), 'index');
      const per = 4 + identity.vocab * elementBytes(identity);
      for (let e = 0; e < E; e++) {
        if (offsets[e]! + counts[e]! * per > footer.payloadBytes) throw bad(`index entry ${e} points past the payload`);
      }
      return new ShardReader(path, { ...footer, identity }, file, offsets, counts);
    } catch (e) {
      file.close();
      if (isProtdistilError(e)) throw e;
      throw bad((e as Error).message);
    }
  }

  /** Entry (sequence `i`, draw `d`): masked row positions (m) and logits (m × V) as float32. */
  entry(i: number, d: number): { positions: Uint32Array; logits: Float32Array } {
    const { identity, shard } = this.footer;
    const e = (i - shard.start) * identity.masks + d;
    const m = this.counts[e]!;
    const V = identity.vocab;
    const bytes = this.file.read(this.offsets[e]!, m * (4 + V * elementBytes(identity)), `entry (sequence ${i}, draw ${d})`);
    const pv = new DataView(bytes.buffer);
    const positions = new Uint32Array(m);
    for (let j = 0; j < m; j++) positions[j] = pv.getUint32(4 * j, true);
    const dv = new DataView(bytes.buffer, m * 4);
    const logits = new Float32Array(m * V);
    if (identity.dtype === 'float16') for (let k = 0; k < logits.length; k++) logits[k] = halfToFloat(dv.getUint16(2 * k, true));
    else for (let k = 0; k < logits.length; k++) logits[k] = dv.getFloat32(4 * k, true);
    return { positions, logits };
  }

  /** Re-hashes the payload and compares it with the footer's SHA-256 (reads the whole shard). */
  verifyPayload(): void {
    const h = createHash('sha256');
    const chunk = 1 << 22;
    for (let at = 0; at < this.footer.payloadBytes; at += chunk) h.update(this.file.read(at, Math.min(chunk, this.footer.payloadBytes - at), 'payload'));
    if (h.digest('hex') !== this.footer.payloadSha256) throw dataError(`${this.path}: its logits do not match the checksum in its footer (the file is damaged); label this shard again`);
  }

  close(): void {
    this.file.close();
  }
}
