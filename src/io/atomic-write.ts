import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { dataError, ioError, isProtdistilError } from '../errors.js';

/**
 * Atomic file writes: data goes to a temp file beside the target, is flushed to disk, then renamed over
 * the target. Readers see either the old file or the complete new one, never a half-written file, and a
 * crashed run leaves at most a dot-prefixed temp file behind.
 */

/** One file of a batch written by `writeFilesAtomic`. */
export interface FileEntry {
  readonly path: string;
  readonly data: FileData;
}

/** Byte chunks at offsets of one file (zeros between them). */
export interface ChunkedBytes {
  readonly chunks: readonly { readonly offset: number; readonly bytes: Uint8Array }[];
  /** File size in bytes. */
  readonly size: number;
}

/** A file's contents: bytes, text, or byte chunks at offsets (a large file written piece by piece). */
export type FileData = Uint8Array | string | ChunkedBytes;

/** Bytes `data` occupies as a file (UTF-8 for text). */
export function fileDataBytes(data: FileData): number {
  if (typeof data === 'string') return Buffer.byteLength(data, 'utf8');
  return data instanceof Uint8Array ? data.byteLength : data.size;
}

/** Writes `data` to `path` atomically, creating parent directories as needed. */
export function writeFileAtomic(path: string, data: FileData): void {
  const created: string[] = [];
  const tmp = writeTemp('writeFileAtomic', path, data, created);
  try {
    renameSync(tmp, path);
  } catch (e) {
    removeQuietly(tmp);
    removeCreatedDirs(created);
    throw ioError(`writeFileAtomic: cannot move the written data into place at ${path}: ${errMessage(e)}`, e);
  }
  syncDirectory(dirname(path));
}

/**
 * Writes `value` as pretty JSON (two-space indent, trailing newline) atomically. NaN and ±Infinity have
 * no JSON form (JSON.stringify would silently write `null`), so they are rejected with their key path.
 */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, toJsonText(value, `writeJsonAtomic(${path})`));
}

/**
 * Writes several files so that either all of them are replaced or none is: every temp file is written
 * and flushed first, and the renames start only once all writes succeeded. A rename can still fail
 * midway (e.g. the disk vanishes); the error then names the files already in place.
 */
export function writeFilesAtomic(entries: readonly FileEntry[]): void {
  const seen = new Set<string>();
  for (const { path } of entries) {
    const full = resolve(path);
    if (seen.has(full)) throw ioError(`writeFilesAtomic: ${path} appears more than once in the batch`);
    seen.add(full);
  }
  const temps: string[] = [];
  const created: string[] = [];
  try {
    for (const { path, data } of entries) {
      if (isDirectory(path)) throw ioError(`writeFilesAtomic: cannot write ${path}: it is a directory`);
      temps.push(writeTemp('writeFilesAtomic', path, data, created));
    }
  } catch (e) {
    for (const tmp of temps) removeQuietly(tmp);
    removeCreatedDirs(created);
    throw e;
  }
  const done: string[] = [];
  for (const [i, entry] of entries.entries()) {
    const tmp = temps[i] as string;
    try {
      renameSync(tmp, entry.path);
      done.push(entry.path);
    } catch (e) {
      for (const rest of temps.slice(i)) removeQuietly(rest);
      const already = done.length === 0 ? 'none' : done.join(', ');
      throw ioError(
        `writeFilesAtomic: cannot move ${entry.path} into place: ${errMessage(e)} (already written: ${already})`,
        e,
      );
    }
  }
  for (const dir of new Set(entries.map((e) => dirname(resolve(e.path))))) syncDirectory(dir);
}

/** Writes chunks at their offsets (in pieces of at most 1 GiB: one write call cannot take 2 GiB) and sets the file's size. */
function writeChunks(fd: number, data: ChunkedBytes): void {
  const piece = 2 ** 30;
  for (const { offset, bytes } of data.chunks) {
    for (let at = 0; at < bytes.byteLength; ) {
      const n = Math.min(piece, bytes.byteLength - at);
      at += writeSync(fd, bytes, at, n, offset + at);
    }
  }
  ftruncateSync(fd, data.size);
}

/** Pretty JSON text of `value` with a trailing newline; throws a `data` error naming a non-finite number's key path. */
export function toJsonText(value: unknown, what = 'toJsonText'): string {
  // JSON.stringify hands the replacer each holder as `this`; recording the path of every object on the
  // way down gives the path of each value. The outermost holder is an internal wrapper, hence '$'.
  const paths = new WeakMap<object, string>();
  const replacer = function (this: unknown, key: string, v: unknown): unknown {
    const parent = typeof this === 'object' && this !== null ? paths.get(this) : undefined;
    const path = parent === undefined ? '$' : childPath(parent, key, Array.isArray(this));
    if (typeof v === 'number' && !Number.isFinite(v)) {
      throw dataError(`${what}: value at ${path} is ${v}, which JSON cannot represent`);
    }
    if (typeof v === 'bigint') throw dataError(`${what}: value at ${path} is a bigint, which JSON cannot represent`);
    if (typeof v === 'object' && v !== null) paths.set(v, path);
    return v;
  };
  let text: string | undefined;
  try {
    text = JSON.stringify(value, replacer, 2) as string | undefined;
  } catch (e) {
    if (isProtdistilError(e)) throw e;
    throw dataError(`${what}: value cannot be serialised to JSON: ${errMessage(e)}`, e);
  }
  if (text === undefined) throw dataError(`${what}: value has no JSON form (got ${typeof value})`);
  return `${text}\n`;
}

/** `$.a.b[2]` style path; keys that are not identifiers are quoted. */
function childPath(parent: string, key: string, inArray: boolean): string {
  if (inArray) return `${parent}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

/**
 * Creates the parent directory and writes, flushes and closes a fresh temp file; returns its path.
 * Directories it creates are appended to `created` (outermost first), so that a failed write can
 * remove them again and leave no empty output directory behind.
 */
function writeTemp(op: string, path: string, data: FileData, created: string[] = []): string {
  const dir = dirname(path);
  try {
    const first = mkdirSync(dir, { recursive: true });
    if (first !== undefined) {
      // Every directory from the first one created down to `dir` is new.
      const top = resolve(first);
      const chain: string[] = [];
      for (let d = resolve(dir); d !== top && d !== dirname(d); d = dirname(d)) chain.unshift(d);
      created.push(top, ...chain);
    }
  } catch (e) {
    throw ioError(`${op}: cannot create directory ${dir} for ${path}: ${errMessage(e)}`, e);
  }
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    if (typeof data === 'string' || data instanceof Uint8Array) writeFileSync(fd, data);
    else writeChunks(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    return tmp;
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Already failing; the original error is the one worth reporting.
      }
    }
    removeQuietly(tmp);
    throw ioError(`${op}: cannot write ${path}: ${errMessage(e)}`, e);
  }
}

/** Flushes a directory entry so a completed rename survives a power loss (best effort: not all platforms allow it). */
export function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Directory fsync is unsupported on some platforms and filesystems; the rename itself has happened.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Removes directories this write created, innermost first, each only if it is empty. */
function removeCreatedDirs(created: readonly string[]): void {
  for (const dir of [...created].reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      // Not empty (someone else wrote there) or already gone: leave it.
    }
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // The temp file may never have been created.
  }
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
