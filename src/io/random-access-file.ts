import * as fs from 'node:fs';
import { ioError, type ProtdistilError } from '../errors.js';

/** Makes the format-specific error for a file that ends too early (checkpoint, data, …). */
export type TruncationError = (message: string) => ProtdistilError;

/**
 * A file read by offset with positioned `readSync` calls, so large checkpoints are never loaded
 * whole. Reads past the end raise the error the opening format asked for.
 */
export class RandomAccessFile {
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    readonly size: number,
    private readonly truncated: TruncationError,
  ) {
    this.fd = fd;
  }

  /** Opens `path` for reading; file-system failures become `io` errors naming the path. */
  static open(path: string, truncated: TruncationError = ioError): RandomAccessFile {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (e) {
      throw ioError(`cannot open ${path}: ${(e as Error).message}`, e);
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw ioError(`cannot read ${path}: not a regular file`);
      return new RandomAccessFile(path, fd, stat.size, truncated);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** Runs `fn` on the opened file and closes it afterwards, also on failure. */
  static with<T>(path: string, truncated: TruncationError, fn: (file: RandomAccessFile) => T): T {
    const file = RandomAccessFile.open(path, truncated);
    try {
      return fn(file);
    } finally {
      file.close();
    }
  }

  /** Reads `length` bytes at `position` into a fresh buffer. */
  read(position: number, length: number, what = 'data'): Uint8Array {
    const out = new Uint8Array(length);
    this.readInto(position, out, what);
    return out;
  }

  /** Fills `target` with the bytes at `position`; `what` names the part being read in errors. */
  readInto(position: number, target: Uint8Array, what = 'data'): void {
    const end = position + target.length;
    if (position < 0 || end > this.size) {
      throw this.truncated(
        `${this.path}: truncated file: ${what} needs bytes ${position}..${end} but the file has ${this.size} bytes`,
      );
    }
    const fd = this.handle();
    let done = 0;
    while (done < target.length) {
      let n: number;
      try {
        n = fs.readSync(fd, target, done, target.length - done, position + done);
      } catch (e) {
        throw ioError(`${this.path}: read of ${what} at byte ${position + done} failed: ${(e as Error).message}`, e);
      }
      if (n === 0) {
        throw this.truncated(`${this.path}: file ended at byte ${position + done} while reading ${what}`);
      }
      done += n;
    }
  }

  /** Releases the file descriptor; further reads fail. */
  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }

  private handle(): number {
    if (this.fd === null) throw ioError(`${this.path}: read after close`);
    return this.fd;
  }
}
