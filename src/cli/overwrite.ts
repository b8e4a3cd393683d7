import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a rerun does to earlier results: commands that write fixed file names into an output
 * directory replace them, and say so twice, before the (possibly long) run starts and in the
 * list of files written, so results are never replaced silently. (`extract` instead keeps
 * existing per-sequence files and reports how many it skipped.)
 */

/** The entries of `names` that already exist in `dir`. */
export function existingIn(dir: string, names: readonly string[]): string[] {
  return names.filter((n) => existsSync(join(dir, n)));
}

/** The note printed before a run when `dir` already holds some of the files it will write. */
export function replaceNote(flag: string, dir: string, existing: readonly string[]): string {
  return `note: ${flag} ${dir} already holds ${existing.join(', ')} from an earlier run; this run replaces them when it finishes (give another ${flag} to keep them)`;
}

/** The paths of files about to be written that already exist (call just before writing). */
export function toBeReplaced(paths: readonly string[]): Set<string> {
  return new Set(paths.filter((p) => existsSync(p)));
}

/** One line per written file, marking those that replaced a file of an earlier run. */
export function writtenList(paths: readonly string[], replaced: ReadonlySet<string>): string {
  return paths.map((p) => `  ${p}${replaced.has(p) ? '  (replaced the earlier file)' : ''}`).join('\n');
}
