import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ioError, isProtdistilError } from '../errors.js';
import { syncDirectory } from './atomic-write.js';

/**
 * Atomic directories: the contents are written into a hidden temp directory beside the target,
 * which is renamed into place only when every file is complete. A reader (or a resumed run) sees
 * the old directory or the complete new one, never a partial one; a crash leaves at most a
 * `.name.tmp-*` directory, which the next write of the same target removes.
 */
export function writeDirAtomic(dir: string, fill: (tmpDir: string) => void): void {
  const parent = dirname(dir);
  const name = basename(dir);
  try {
    mkdirSync(parent, { recursive: true });
  } catch (e) {
    throw ioError(`cannot create directory ${parent}: ${(e as Error).message}`, e);
  }
  removeStaleTemps(parent, name);
  const tmp = join(parent, `.${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const old = join(parent, `.${name}.old-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(tmp);
    fill(tmp);
    syncDirectory(tmp);
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(tmp, dir);
    syncDirectory(parent);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(old) && !existsSync(dir)) renameSync(old, dir);
    if (isProtdistilError(e)) throw e;
    throw ioError(`cannot write ${dir}: ${(e as Error).message}`, e);
  }
  rmSync(old, { recursive: true, force: true });
}

/**
 * Removes temp directories of earlier, interrupted writes of `name` in `parent`. A write that died
 * between moving the old directory aside and moving the new one in left only `.name.old-*`: that
 * one is put back first.
 */
function removeStaleTemps(parent: string, name: string): void {
  const entries = readdirSync(parent);
  const target = join(parent, name);
  const aside = entries.find((e) => e.startsWith(`.${name}.old-`));
  if (aside !== undefined && !existsSync(target)) renameSync(join(parent, aside), target);
  for (const entry of entries) {
    if (entry.startsWith(`.${name}.tmp-`) || entry.startsWith(`.${name}.old-`)) rmSync(join(parent, entry), { recursive: true, force: true });
  }
}
