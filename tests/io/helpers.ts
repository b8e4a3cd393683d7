import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostArray } from '../../src/tensor/host-array.js';

/** Shared helpers of the io tests: fixture paths, golden comparisons, error checks. */

// Compiled to dist/tests/io/helpers.js; fixtures stay in the source tree.
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** Path of a file under tests/fixtures/io/. */
export function ioFixture(...parts: string[]): string {
  return join(REPO, 'tests', 'fixtures', 'io', ...parts);
}

/** Path of a file under tests/fixtures/esm/. */
export function esmFixture(...parts: string[]): string {
  return join(REPO, 'tests', 'fixtures', 'esm', ...parts);
}

/** A golden array from expected.json (written by scripts/fixtures/make_io_fixtures.py). */
export interface ExpectedArray {
  readonly dtype: HostArray['dtype'];
  readonly shape: number[];
  readonly values: (number | string)[];
}

/** expected.json, parsed. */
export interface ExpectedFile {
  readonly pt: Record<string, ExpectedArray | Record<string, ExpectedArray>>;
  readonly objects: { tensor: ExpectedArray; big: string };
  readonly npy: Record<string, ExpectedArray>;
  readonly safetensors: Record<string, Record<string, ExpectedArray>>;
}

let cached: ExpectedFile | undefined;

/** The golden values of the io fixtures. */
export function expected(): ExpectedFile {
  cached ??= JSON.parse(readFileSync(ioFixture('expected.json'), 'utf8')) as ExpectedFile;
  return cached;
}

/** One golden tensor (`pt` section), failing clearly when the fixture has no such entry. */
export function expectedPt(name: string, key?: string): ExpectedArray {
  const entry = expected().pt[name];
  const value = key === undefined ? entry : (entry as Record<string, ExpectedArray> | undefined)?.[key];
  assert.ok(value !== undefined && 'dtype' in value, `expected.json has no pt entry ${name}${key ? `/${key}` : ''}`);
  return value as ExpectedArray;
}

function decodeFloat(v: number | string): number {
  if (v === 'nan') return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return v as number;
}

/** Asserts dtype, shape and every value exactly (floats bit-for-bit up to NaN, -0 distinct from 0). */
export function assertArray(actual: HostArray | undefined, want: ExpectedArray, what: string): void {
  assert.ok(actual !== undefined, `${what}: missing`);
  assert.equal(actual.dtype, want.dtype, `${what}: dtype`);
  assert.deepEqual([...actual.shape], want.shape, `${what}: shape`);
  assert.equal(actual.data.length, want.values.length, `${what}: element count`);
  for (let i = 0; i < want.values.length; i++) {
    const got: number | bigint | undefined = actual.data[i];
    const raw = want.values[i]!;
    if (want.dtype === 'int64') {
      assert.equal(got, BigInt(raw), `${what}[${i}]`);
    } else if (want.dtype === 'float32') {
      const w = decodeFloat(raw);
      assert.ok(Object.is(got, w) || (Number.isNaN(w) && Number.isNaN(got)), `${what}[${i}]: got ${String(got)}, want ${w}`);
    } else {
      assert.equal(got, raw, `${what}[${i}]`);
    }
  }
}

export { assertFails } from '../helpers/errors.js';

/** A fresh temporary directory and a function that removes it. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'protdistil-io-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
