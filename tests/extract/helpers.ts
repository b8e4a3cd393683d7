import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureInputs, type FixtureBatch } from '../models/esm/fixtures.js';

/** Shared helpers of the extraction tests. */

/** A fresh temporary directory and a function that removes it. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'protdistil-extract-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes the inputs.json sequences of some batches as a FASTA file (labels as there). */
export function writeFixtureFasta(path: string, batches: readonly FixtureBatch[]): { label: string; sequence: string; batch: FixtureBatch; row: number }[] {
  const recs = batches.flatMap((b) => {
    const inp = fixtureInputs(b);
    return inp.labels.map((label, row) => ({ label, sequence: inp.sequences[row] as string, batch: b, row }));
  });
  writeFileSync(path, recs.map((r) => `>${r.label}\n${r.sequence.replace(/(.{60})/g, '$1\n')}\n`).join(''));
  return recs;
}

export { assertRejects } from '../helpers/errors.js';
