import { checkpointError } from '../../errors.js';
import type { RandomAccessFile } from '../random-access-file.js';

/**
 * Byte sources for the unpickler: an in-memory buffer (`data.pkl` of a zip checkpoint) or a file
 * read in chunks from an offset (the consecutive pickles of a legacy checkpoint, which are followed
 * by gigabytes of tensor data that must not be read with them).
 */
export interface PickleInput {
  /** Name of the source in error messages (file path plus entry). */
  readonly name: string;
  /** Absolute position of the next byte. */
  readonly position: number;
  /** Next byte; a `checkpoint` error when the data has ended. */
  byte(what: string): number;
  /** Next `n` bytes; the view is only valid until the next read, copy it to keep it. */
  bytes(n: number, what: string): Uint8Array;
  /** Bytes up to the next newline (excluded), decoded as UTF-8. */
  line(what: string): string;
}

const CHUNK = 1 << 20;

function truncated(name: string, position: number, what: string): Error {
  return checkpointError(`${name}: truncated pickle: data ends at byte ${position} while reading ${what}`);
}

/** Pickle bytes held in memory. */
export class BytesInput implements PickleInput {
  private pos = 0;
  constructor(
    private readonly data: Uint8Array,
    readonly name: string,
  ) {}

  get position(): number {
    return this.pos;
  }

  byte(what: string): number {
    if (this.pos >= this.data.length) throw truncated(this.name, this.pos, what);
    return this.data[this.pos++]!;
  }

  bytes(n: number, what: string): Uint8Array {
    if (n > this.data.length - this.pos) throw truncated(this.name, this.data.length, what);
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  line(what: string): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0) throw truncated(this.name, this.data.length, what);
    const out = new TextDecoder().decode(this.data.subarray(this.pos, end));
    this.pos = end + 1;
    return out;
  }
}

/** Pickle bytes read from a file in 1 MiB chunks, starting at `start`. */
export class FileInput implements PickleInput {
  private buf: Uint8Array = new Uint8Array(0);
  private bufStart: number;
  private pos: number;

  constructor(
    private readonly file: RandomAccessFile,
    start: number,
    readonly name: string,
  ) {
    this.bufStart = start;
    this.pos = start;
  }

  get position(): number {
    return this.pos;
  }

  byte(what: string): number {
    return this.bytes(1, what)[0]!;
  }

  bytes(n: number, what: string): Uint8Array {
    if (n > this.file.size - this.pos) throw truncated(this.name, this.file.size, what);
    let at = this.pos - this.bufStart;
    if (at + n > this.buf.length) {
      if (n > CHUNK) {
        const out = this.file.read(this.pos, n, what);
        this.pos += n;
        return out;
      }
      this.fill();
      at = 0;
    }
    this.pos += n;
    return this.buf.subarray(at, at + n);
  }

  line(what: string): string {
    const parts: Uint8Array[] = [];
    for (;;) {
      let at = this.pos - this.bufStart;
      if (at >= this.buf.length) {
        if (this.pos >= this.file.size) throw truncated(this.name, this.pos, what);
        this.fill();
        at = 0;
      }
      const end = this.buf.indexOf(0x0a, at);
      const stop = end < 0 ? this.buf.length : end;
      parts.push(this.buf.slice(at, stop));
      this.pos = this.bufStart + stop + (end < 0 ? 0 : 1);
      if (end >= 0) break;
    }
    return new TextDecoder().decode(Buffer.concat(parts));
  }

  /** Reloads the buffer starting at the current position. */
  private fill(): void {
    const n = Math.min(CHUNK, this.file.size - this.pos);
    this.buf = this.file.read(this.pos, n, this.name);
    this.bufStart = this.pos;
  }
}
