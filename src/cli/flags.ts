import { configError } from '../errors.js';

/** Flag parsing with one clear error naming the flag and the bad value. */
export function parseIntFlag(flag: string, v: string | undefined, min = -Infinity, max = Infinity): number {
  const n = Number(v);
  if (v === undefined || v.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw configError(`${flag} must be an integer${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` and <= ${max}` : ''}, got '${v ?? ''}'`);
  }
  return n;
}

/** A finite number flag, strictly greater than `above` when given. */
export function parseFloatFlag(flag: string, v: string | undefined, above = -Infinity): number {
  const n = Number(v);
  if (v === undefined || v.trim() === '' || !Number.isFinite(n) || !(n > above)) {
    throw configError(`${flag} must be a number${above > -Infinity ? ` > ${above}` : ''}, got '${v ?? ''}'`);
  }
  return n;
}

/** A comma-separated list of names from a fixed set. */
export function parseListFlag<T extends string>(flag: string, v: string, allowed: readonly T[]): T[] {
  const items = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const i of items) if (!allowed.includes(i as T)) throw configError(`${flag}: unknown value '${i}' (allowed: ${allowed.join(', ')})`);
  if (items.length === 0) throw configError(`${flag} needs at least one value`);
  return items as T[];
}
