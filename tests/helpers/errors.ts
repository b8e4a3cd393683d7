import assert from 'node:assert/strict';
import { isProtdistilError, type ErrorCode, type ProtdistilError } from '../../src/errors.js';

/** Asserts `caught` is a ProtdistilError of `code` whose message has every part; returns it. */
export function assertProtdistilError(caught: unknown, code: ErrorCode, parts: readonly (string | RegExp)[]): ProtdistilError {
  assert.ok(caught !== undefined, 'expected an error, nothing was thrown');
  assert.ok(isProtdistilError(caught), `expected a ProtdistilError, got ${String(caught)}`);
  assert.equal(caught.code, code, `error code (message: ${caught.message})`);
  for (const p of parts) {
    if (typeof p === 'string') assert.ok(caught.message.includes(p), `message lacks ${JSON.stringify(p)}: ${caught.message}`);
    else assert.match(caught.message, p);
  }
  return caught;
}

/** Runs `fn`, asserting it throws a ProtdistilError of `code` whose message has every part. */
export function assertFails(fn: () => unknown, code: ErrorCode, ...parts: (string | RegExp)[]): ProtdistilError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  return assertProtdistilError(caught, code, parts);
}

/** Awaits `fn`, asserting it rejects with a ProtdistilError of `code` whose message has every part. */
export async function assertRejects(fn: () => Promise<unknown>, code: ErrorCode, ...parts: (string | RegExp)[]): Promise<ProtdistilError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  return assertProtdistilError(caught, code, parts);
}
