import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { flat } from './numeric.js';

/** Loads a golden fixture (JSON written by scripts/golden/make_golden.py with PyTorch, float64). */
export function loadGolden(name: string): Record<string, unknown> {
  // Compiled tests live in dist/tests/helpers; fixtures stay in tests/fixtures.
  const path = fileURLToPath(new URL(`../../../tests/fixtures/golden/${name}.json`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** A fixture field as float32 data plus its shape (from nested lists). */
export function field(obj: Record<string, unknown>, key: string): { data: Float32Array; shape: number[]; f64: Float64Array } {
  const v = obj[key];
  if (v === undefined) throw new Error(`golden field ${key} missing`);
  const shape: number[] = [];
  let cur: unknown = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  const f64 = flat(v);
  return { data: Float32Array.from(f64), shape, f64 };
}
