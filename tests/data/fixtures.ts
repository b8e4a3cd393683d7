/** Paths and small readers for the committed fixtures of the data tests. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of a file under tests/fixtures/data (tests run from dist/tests/data). */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../../../tests/fixtures/data/${name}`, import.meta.url));
}

/** Parses a fixture JSON file. */
export function readFixtureJson<T>(name: string): T {
  return JSON.parse(readFileSync(fixturePath(name), 'utf8')) as T;
}

/** Reads a little-endian int64 C-order NPY v1.0 file (the only kind the fixtures hold for tokens). */
export function readNpyInt64(name: string): { shape: number[]; data: BigInt64Array } {
  const buf = readFileSync(fixturePath(name));
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY' || buf[6] !== 1) throw new Error(`${name}: not NPY v1`);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  if (!header.includes("'descr': '<i8'") || !header.includes("'fortran_order': False")) {
    throw new Error(`${name}: expected C-order <i8, header ${header}`);
  }
  const m = /'shape': \(([^)]*)\)/.exec(header);
  if (m === null) throw new Error(`${name}: no shape in header ${header}`);
  const shape = (m[1] as string).split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const start = 10 + headerLen;
  const bytes = buf.subarray(start);
  const data = new BigInt64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { shape, data };
}

/** Rows of a (B, T) int64/int32 matrix as plain number arrays. */
export function rows(data: ArrayLike<number | bigint>, shape: readonly number[]): number[][] {
  const [B, T] = shape as [number, number];
  return Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => Number(data[b * T + t])));
}
