import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeNpy } from '../../src/io/npy.js';
import { parseRankConfig } from '../../src/rank/config.js';
import { runDistilRank, type TeacherResult } from '../../src/rank/pipeline.js';
import { detailsJson } from '../../src/rank/summary.js';
import type { Embeddings } from '../../src/rank/embeddings.js';
import { lowRankRows } from './helpers.js';

/**
 * The output spectrum distil_rank_details.json reports (singular values of the centred teacher
 * outputs on the training rows), for the exact and the randomized closed-form solver, checked
 * against values computed from the run's own closed-form factors: B = V_r and A = V_rᵀ·W, so
 * row j of A gives Y_c·v_j = X_c·a_jᵀ and σ_j = ‖X_c·a_jᵀ‖.
 */

const RANK = 4;
const ROWS = 200;
const DIM = 24;

/** ‖X_c·a_jᵀ‖ for the first `rank` rows a_j of the closed-form A, in float64. */
function spectrumFromFactors(x: Embeddings, t: TeacherResult): number[] {
  const { a, inFeatures: n } = t.closedForm.factors;
  const mean = new Float64Array(n);
  for (let r = 0; r < x.rows; r++) for (let i = 0; i < n; i++) mean[i] = (mean[i] as number) + (x.data[r * n + i] as number) / x.rows;
  return Array.from({ length: t.rank }, (_, j) => {
    let ss = 0;
    for (let r = 0; r < x.rows; r++) {
      let v = 0;
      for (let i = 0; i < n; i++) v += ((x.data[r * n + i] as number) - (mean[i] as number)) * (a[j * n + i] as number);
      ss += v * v;
    }
    return Math.sqrt(ss);
  });
}

describe('reported output spectrum', () => {
  let dir: string;
  let train: Embeddings;
  const spectra = new Map<string, number[]>();
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rank-spectrum-'));
    const all = lowRankRows(ROWS + 60, DIM, 6, 21, 0.01);
    train = { rows: ROWS, dim: DIM, data: all.data.slice(0, ROWS * DIM) };
    writeNpy(join(dir, 'train.npy'), { dtype: 'float32', shape: [ROWS, DIM], data: train.data });
    writeNpy(join(dir, 'val.npy'), { dtype: 'float32', shape: [60, DIM], data: all.data.slice(ROWS * DIM) });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const solver of ['exact', 'randomized'] as const) {
    it(`${solver} solver: output_spectrum holds the singular values of the centred teacher outputs`, async () => {
      const config = parseRankConfig({
        train: join(dir, 'train.npy'), val: join(dir, 'val.npy'), solver, teachers: ['random'], rank: RANK,
        steps: 2, batchSize: 16, teacherSteps: 2, sweep: [2, RANK], latencyRepeats: 1, latencyWarmup: 0, latencyBatches: [32],
        out: join(dir, 'out'),
      });
      const run = await runDistilRank(config);
      const t = run.teachers[0] as TeacherResult;
      assert.equal(t.closedForm.method, solver);
      const reported = (detailsJson(run) as { experiments: Record<string, { output_spectrum: number[] }> }).experiments.Random?.output_spectrum ?? [];
      assert.ok(reported.length >= RANK, `${reported.length} values reported`);
      if (solver === 'exact') assert.equal(reported.length, DIM, 'the exact solver reports the full spectrum');
      for (let j = 1; j < reported.length; j++) assert.ok((reported[j] as number) <= (reported[j - 1] as number) * (1 + 1e-6), 'descending');
      const want = spectrumFromFactors(train, t);
      for (let j = 0; j < RANK; j++) {
        const got = reported[j] as number;
        assert.ok(Math.abs(got - (want[j] as number)) <= 1e-4 * (want[j] as number), `σ_${j}: reported ${got}, from the factors ${want[j]}`);
      }
      spectra.set(solver, reported.slice(0, RANK));
    });
  }

  it('the two solvers report the same leading spectrum', () => {
    const [e, r] = [spectra.get('exact'), spectra.get('randomized')];
    assert.ok(e !== undefined && r !== undefined, 'both runs completed');
    for (let j = 0; j < RANK; j++) assert.ok(Math.abs((r[j] as number) - (e[j] as number)) <= 1e-4 * (e[j] as number), `σ_${j}: randomized ${r[j]} vs exact ${e[j]}`);
  });
});
