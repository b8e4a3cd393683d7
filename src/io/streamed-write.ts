import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ioError, isProtdistilError } from '../errors.js';

/** Receives the bytes of a file being written piece by piece; `offset` is the bytes written so far. */
export interface ByteSink {
  write(chunk: Uint8Array): void;
  readonly offset: number;
}

/**
 * Writes `path` atomically from pieces, so multi-GB checkpoints are streamed from the tensors'
 * own buffers instead of being concatenated in memory first: the pieces go to a temp file in the
 * same directory, which is flushed and renamed over `path`; on failure the temp file is removed.
 * (`writeFileAtomic` in `atomic-write.ts` does the same for data that is already one buffer.)
 */
export function writeStreamedAtomic(path: string, fill: (sink: ByteSink) => void): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw ioError(`cannot create directory ${dir} for ${path}: ${(e as Error).message}`, e);
  }
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    const handle = fd;
    let offset = 0;
    const sink: ByteSink = {
      write(chunk: Uint8Array): void {
        let done = 0;
        while (done < chunk.length) done += writeSync(handle, chunk, done, chunk.length - done);
        offset += chunk.length;
      },
      get offset(): number {
        return offset;
      },
    };
    fill(sink);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // The temp file may never have been created.
    }
    if (isProtdistilError(e)) throw e;
    throw ioError(`cannot write ${path}: ${(e as Error).message}`, e);
  }
}
