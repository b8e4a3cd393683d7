/** Error codes: every failure protdistil raises carries one of these as data. */
export type ErrorCode = 'shape' | 'dtype' | 'checkpoint' | 'config' | 'data' | 'runtime' | 'io';

/**
 * The one error class of protdistil. `code` says what kind of failure it is; the message names the
 * operation, the argument and the offending values. Lower-level failures are attached as `cause`.
 */
export class ProtdistilError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProtdistilError';
    this.code = code;
  }
}

/** Shorthand constructors, so call sites read `throw shapeError('matmul', ...)`. */
export const shapeError = (op: string, msg: string): ProtdistilError =>
  new ProtdistilError('shape', `${op}: ${msg}`);
export const dtypeError = (op: string, msg: string): ProtdistilError =>
  new ProtdistilError('dtype', `${op}: ${msg}`);
export const dataError = (msg: string, cause?: unknown): ProtdistilError =>
  new ProtdistilError('data', msg, cause === undefined ? undefined : { cause });
export const checkpointError = (msg: string, cause?: unknown): ProtdistilError =>
  new ProtdistilError('checkpoint', msg, cause === undefined ? undefined : { cause });
export const configError = (msg: string): ProtdistilError => new ProtdistilError('config', msg);
export const runtimeError = (msg: string, cause?: unknown): ProtdistilError =>
  new ProtdistilError('runtime', msg, cause === undefined ? undefined : { cause });
export const ioError = (msg: string, cause?: unknown): ProtdistilError =>
  new ProtdistilError('io', msg, cause === undefined ? undefined : { cause });

/** True when `e` is a protdistil error (optionally of one code). */
export function isProtdistilError(e: unknown, code?: ErrorCode): e is ProtdistilError {
  return e instanceof ProtdistilError && (code === undefined || e.code === code);
}
