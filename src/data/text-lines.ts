/**
 * Text lines from a byte stream, for readers of large text files (FASTA, label tables). Streams
 * chunk by chunk, so memory is bounded by the longest line, not the file. gzip input is recognised by
 * its magic bytes (any name), other compressors are refused with a clear message. Line ends follow
 * Python's universal newlines (`\n`, `\r\n` and a lone `\r`), as fair-esm reads files in text mode.
 */
import { createReadStream } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { dataError, ioError, isProtdistilError } from '../errors.js';

/** Compression formats recognised by magic bytes. */
export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

/** Names the compression of a file from its first bytes (at least 6 give a sure answer). */
export function sniffCompression(head: Uint8Array): Compression {
  const b = (i: number): number => head[i] ?? -1;
  if (b(0) === 0x1f && b(1) === 0x8b) return 'gzip';
  if (b(0) === 0x42 && b(1) === 0x5a && b(2) === 0x68) return 'bzip2';
  if (b(0) === 0xfd && b(1) === 0x37 && b(2) === 0x7a && b(3) === 0x58 && b(4) === 0x5a && b(5) === 0x00) return 'xz';
  if (b(0) === 0x28 && b(1) === 0xb5 && b(2) === 0x2f && b(3) === 0xfd) return 'zstd';
  return 'none';
}

/**
 * Splits decoded text into lines across chunk boundaries. A `\r` at the very end of a chunk is held back
 * until the next chunk shows whether a `\n` follows. Only the unfinished last line is buffered.
 */
export class LineSplitter {
  private rest = '';
  private pendingCR = false;

  /** Feeds a chunk of text; returns the lines it completed, without their terminators. */
  push(chunk: string): string[] {
    const out: string[] = [];
    if (chunk.length === 0) return out;
    let start = 0;
    let prefix = this.rest;
    if (this.pendingCR) {
      this.pendingCR = false;
      out.push(prefix);
      prefix = '';
      if (chunk.charCodeAt(0) === 0x0a) start = 1;
    }
    let nl = chunk.indexOf('\n', start);
    let cr = chunk.indexOf('\r', start);
    for (;;) {
      if (nl >= 0 && nl < start) nl = chunk.indexOf('\n', start);
      if (cr >= 0 && cr < start) cr = chunk.indexOf('\r', start);
      if (nl < 0 && cr < 0) break;
      if (cr < 0 || (nl >= 0 && nl < cr)) {
        out.push(prefix + chunk.slice(start, nl));
        start = nl + 1;
      } else if (cr === chunk.length - 1) {
        this.rest = prefix + chunk.slice(start, cr);
        this.pendingCR = true;
        return out;
      } else {
        out.push(prefix + chunk.slice(start, cr));
        start = chunk.charCodeAt(cr + 1) === 0x0a ? cr + 2 : cr + 1;
      }
      prefix = '';
    }
    this.rest = prefix + chunk.slice(start);
    return out;
  }

  /** Flushes the last line (a final line without terminator counts; an empty tail does not). */
  end(): string[] {
    const last = this.pendingCR || this.rest.length > 0 ? [this.rest] : [];
    this.rest = '';
    this.pendingCR = false;
    return last;
  }
}

/** Splits a whole in-memory text into lines with the same rules as the streaming reader. */
export function splitLines(text: string): string[] {
  const s = new LineSplitter();
  return [...s.push(text), ...s.end()];
}

/** Byte source accepted by {@link readLines}: a file path or any async iterable of byte chunks. */
export type ByteSource = string | AsyncIterable<Uint8Array | string>;

/**
 * Yields the lines of a text source one at a time, gunzipping gzip input. `name` labels errors (the path
 * by default). A leading UTF-8 byte-order mark is dropped. Breaking out of the loop closes the file.
 */
export async function* readLines(source: ByteSource, name?: string): AsyncGenerator<string, void, undefined> {
  for await (const lines of readLineChunks(source, name)) yield* lines;
}

/**
 * Like {@link readLines} but yields the lines of each input chunk as one array, which saves an async
 * step per line on files with hundreds of millions of lines.
 */
export async function* readLineChunks(source: ByteSource, name?: string): AsyncGenerator<string[], void, undefined> {
  const label = name ?? (typeof source === 'string' ? source : '<stream>');
  const file = typeof source === 'string' ? createReadStream(source, { highWaterMark: 1 << 16 }) : undefined;
  const chunks: AsyncIterable<Uint8Array | string> = file ?? (source as AsyncIterable<Uint8Array | string>);
  const it = chunks[Symbol.asyncIterator]();
  let gunzip: ReturnType<typeof createGunzip> | undefined;
  try {
    // Collect enough leading bytes to recognise compression.
    const head: Uint8Array[] = [];
    let headBytes = 0;
    let done = false;
    while (headBytes < 6) {
      const r = await it.next();
      if (r.done === true) {
        done = true;
        break;
      }
      const bytes = typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : r.value;
      head.push(bytes);
      headBytes += bytes.length;
    }
    const first = Buffer.concat(head);
    const compression = sniffCompression(first);
    if (compression !== 'none' && compression !== 'gzip') {
      throw dataError(`${label}: input is ${compression}-compressed; only gzip is read directly, decompress it first`);
    }
    async function* remaining(): AsyncGenerator<Uint8Array> {
      if (first.length > 0) yield first;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done === true) return;
        yield typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : r.value;
      }
    }
    let bytes: AsyncIterable<Uint8Array> = remaining();
    if (compression === 'gzip') {
      gunzip = createGunzip();
      bytes = pipeline(Readable.from(bytes), gunzip, () => {});
    }
    const decoder = new StringDecoder('utf8');
    const splitter = new LineSplitter();
    let firstText = true;
    const split = (text: string): string[] => {
      if (firstText && text.length > 0) {
        firstText = false;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      return splitter.push(text);
    };
    for await (const chunk of bytes) {
      const lines = split(decoder.write(chunk as Buffer));
      if (lines.length > 0) yield lines;
    }
    const tail = [...split(decoder.end()), ...splitter.end()];
    if (tail.length > 0) yield tail;
  } catch (e) {
    throw wrapReadError(e, label, gunzip !== undefined);
  } finally {
    gunzip?.destroy();
    file?.destroy();
    if (file === undefined) await it.return?.();
  }
}

function wrapReadError(e: unknown, label: string, gzip: boolean): unknown {
  if (isProtdistilError(e)) return e;
  const err = e as NodeJS.ErrnoException;
  if (gzip && err.message === 'unexpected end of file') {
    return dataError(`${label}: gzip data is truncated (unexpected end of file)`, e);
  }
  if (typeof err.code === 'string' && err.code.startsWith('Z_')) {
    return dataError(`${label}: gzip data is corrupt (${err.message})`, e);
  }
  if (err.code === 'ENOENT') return ioError(`${label}: no such file`, e);
  if (err.code === 'EISDIR') return ioError(`${label}: is a directory, not a file`, e);
  if (err.code === 'EACCES') return ioError(`${label}: permission denied`, e);
  return ioError(`${label}: read failed (${err.message ?? String(e)})`, e);
}
