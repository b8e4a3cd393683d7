import { isProtdistilError } from '../errors.js';

/**
 * Turns any failure into one clear line on stderr and a non-zero exit code. Stack traces only
 * with --debug (or PROTDISTIL_DEBUG=1).
 */
export function reportFatal(e: unknown, debug: boolean): number {
  if (isProtdistilError(e)) {
    process.stderr.write(`protdistil: ${e.code} error: ${e.message}\n`);
    if (debug) process.stderr.write(`${e.stack ?? ''}\n${e.cause === undefined ? '' : `cause: ${String((e.cause as Error).stack ?? e.cause)}\n`}`);
    return 1;
  }
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`protdistil: unexpected error: ${msg.split('\n')[0]}${debug ? '' : ' (run with --debug for details)'}\n`);
  if (debug && e instanceof Error) process.stderr.write(`${e.stack ?? ''}\n`);
  return 70;
}
