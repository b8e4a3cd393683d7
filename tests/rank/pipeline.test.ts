import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRankConfig, type RankConfig } from '../../src/rank/config.js';
import { runDistilRank, type RankRunResult } from '../../src/rank/pipeline.js';
import { markdownReport, reportSpec } from '../../src/rank/report.js';
import { detailsJson, summaryJson } from '../../src/rank/summary.js';
import { assertFails, rankFixture } from './helpers.js';

const TINY = {
  syntheticTrain: 200,
  syntheticVal: 60,
  syntheticDim: 48,
  rank: 6,
  steps: 40,
  batchSize: 16,
  teacherSteps: 20,
  teacherBatchSize: 16,
  sweep: [2, 4, 8],
  latencyRepeats: 3,
  latencyWarmup: 1,
  latencyBatches: [1, 32],
};

const tiny = (extra: Record<string, unknown> = {}): RankConfig => parseRankConfig({ ...TINY, ...extra });

/** Every number of a run except wall-clock measurements. */
function fidelityNumbers(r: RankRunResult): number[] {
  return r.teachers.flatMap((t) => [
    t.svd.val.cosine, t.svd.val.mse, t.closedForm.val.cosine, t.closedForm.val.mse, t.student.val.cosine, t.student.val.mse,
    ...t.student.history.loss, ...t.sweep.flatMap((p) => [p.closedForm.cosine, p.svd.relMse]), ...Array.from(t.svd.spectrum),
  ]);
}

describe('Distil-Rank pipeline on tiny synthetic data', () => {
  let first: RankRunResult;

  it('runs all three teachers and orders the methods as theory says', async () => {
    first = await runDistilRank(tiny());
    assert.equal(first.data.realData, false);
    assert.deepEqual(first.teachers.map((t) => t.id), ['random', 'task-trained', 'spectral']);
    for (const t of first.teachers) {
      assert.equal(t.rank, 6);
      assert.equal(t.rankSource, 'flag');
      // On the training rows the closed form is the optimum: nothing rank-6 does better.
      assert.ok(t.closedForm.train.mse <= t.student.train.mse * (1 + 1e-5), `${t.id}: closed form ${t.closedForm.train.mse} vs student ${t.student.train.mse}`);
      assert.ok(t.closedForm.train.mse <= t.svd.train.mse * (1 + 1e-5), `${t.id}: closed form vs SVD`);
      // Distillation starts from the SVD and improves on it.
      assert.ok(t.student.val.mse < t.svd.val.mse, `${t.id}: student ${t.student.val.mse} vs SVD ${t.svd.val.mse}`);
      assert.equal(t.student.history.loss.length, 40);
      assert.equal(t.svd.spectrum.length, 48, 'full weight spectrum');
      assert.equal(t.paramsStudent, 6 * (48 + 48) + 48);
      assert.equal(t.teacher.params, 48 * 48 + 48);
      assert.deepEqual(t.sweep.map((p) => p.rank), [2, 4, 8]);
      for (let i = 1; i < t.sweep.length; i++) assert.ok(t.sweep[i]!.closedForm.relMse < t.sweep[i - 1]!.closedForm.relMse, 'higher rank, lower error');
      assert.deepEqual(t.latency.map((l) => l.batch), [1, 32]);
    }
    // Latency depends only on shapes: all teachers share one measurement.
    assert.equal(first.teachers[0]!.latency[1]!.teacher, first.teachers[2]!.latency[1]!.teacher);
  });

  it('is deterministic for a seed (every number but wall-clock times)', async () => {
    const again = await runDistilRank(tiny());
    assert.deepEqual(fidelityNumbers(again), fidelityNumbers(first));
    const other = await runDistilRank(tiny({ seed: 7, teachers: ['random'] }));
    assert.notDeepEqual(other.teachers[0]!.svd.val.cosine, first.teachers[0]!.svd.val.cosine);
  });

  it('writes the original summary keys, labels synthetic data, and renders tables and the figure spec', () => {
    const s = summaryJson(first);
    for (const k of ['real_data', 'target_rank', 'input_dim']) assert.ok(k in s, k);
    assert.equal(s.real_data, false);
    assert.match(String(s.data_label), /SYNTHETIC/);
    assert.deepEqual(Object.keys(s.experiments as object), ['Random', 'Task-Trained', 'Spectral'], 'the original experiment names');
    const t = (s.experiments as Record<string, Record<string, unknown>>).Random!;
    assert.equal(t.teacher, 'random');
    for (const k of ['svd_cosine', 'svd_rel_mse', 'student_cosine', 'student_rel_mse', 'cosine_improvement', 'mse_reduction', 'latency_teacher_ms', 'latency_student_ms', 'speedup', 'params_teacher', 'params_student', 'compression', 'closed_form_cosine', 'student_gap_to_closed_form', 'training_time_s', 'rank_sweep', 'weight_spectrum']) {
      assert.ok(k in t, `experiments.Random.${k}`);
    }
    assert.equal(t.latency_student_ms, first.teachers[0]!.latency[1]!.student.medianMs, 'headline latency is batch 32');
    const d = detailsJson(first) as { experiments: Record<string, { student_loss: number[] }> };
    assert.equal(d.experiments.Spectral!.student_loss.length, 40);
    assert.match(markdownReport(first), /\| teacher +\| rank \| SVD cosine/);
    assert.match(JSON.stringify(reportSpec(first)), /SYNTHETIC data/);
    // The figure: six full panels; 1 − cosine on a log axis beside the cosine bars; the sweep coloured by teacher, styled by method.
    const panels = (reportSpec(first) as unknown as { concat: { title: string; encoding: Record<string, { field?: string; scale?: { domain?: unknown[]; type?: string } }> }[] }).concat;
    assert.deepEqual(panels.map((p) => p.title), ['Validation cosine to the teacher', 'Validation 1 − cosine (log scale)', 'Distillation loss (MSE + 0.1·(1 − cos))', 'Teacher weight spectra (normalised)', 'Rank sweep: validation 1 − cosine', 'Rank sweep: validation relative MSE']);
    assert.equal(panels[1]!.encoding.y!.scale!.type, 'log');
    for (const sweep of panels.slice(4)) {
      assert.deepEqual(sweep.encoding.color!.scale!.domain, ['Random', 'Task-Trained', 'Spectral']);
      assert.deepEqual(sweep.encoding.strokeDash!.scale!.domain, ['closed form', 'weight SVD']);
    }
  });

  it('--target-cosine picks the smallest closed-form rank that reaches it and compresses at that rank', async () => {
    const r = await runDistilRank(tiny({ rank: undefined, targetCosine: 0.99, teachers: ['spectral'] }));
    const t = r.teachers[0]!;
    assert.equal(t.rankSource, 'target-cosine');
    assert.ok(t.targetCosine !== undefined);
    assert.equal(t.rank, t.targetCosine.rank);
    assert.ok(t.targetCosine.cosine >= 0.99);
    assert.ok(Math.abs(t.closedForm.val.cosine - t.targetCosine.cosine) < 1e-12);
    const below = await runDistilRank(tiny({ rank: t.rank - 1, teachers: ['spectral'] }));
    assert.ok(below.teachers[0]!.closedForm.val.cosine < 0.99, 'one rank less misses the target');
    await assert.rejects(runDistilRank(tiny({ rank: undefined, targetCosine: 1, syntheticDim: 8, teachers: ['random'], sweep: [] })), /not reached by teacher 'random' at any rank below/);
  });
});

describe('Distil-Rank pipeline on real embedding files', () => {
  const small = { rank: 3, steps: 10, batchSize: 8, teacherSteps: 5, teacherBatchSize: 8, sweep: [2, 4], latencyRepeats: 2, latencyWarmup: 0, latencyBatches: [32], teachers: ['random', 'spectral'] };

  it('uses a held-out file when --val is given, and says so', async () => {
    const r = await runDistilRank(parseRankConfig({ ...small, train: rankFixture('train.npy'), val: rankFixture('val.pt') }));
    assert.equal(r.data.realData, true);
    assert.equal(r.data.validation, 'file');
    assert.deepEqual([r.data.train.rows, r.data.val.rows, r.data.dim], [40, 12, 16]);
    assert.match(String(summaryJson(r).data_label), /real data \(validation: held-out file\)/);
  });

  it('holds out a seeded split of the training file otherwise', async () => {
    const r = await runDistilRank(parseRankConfig({ ...small, train: rankFixture('train.safetensors'), valFraction: 0.25 }));
    assert.equal(r.data.validation, 'split');
    assert.deepEqual([r.data.train.rows, r.data.val.rows], [30, 10]);
  });

  it('fails before any work on width mismatch, too high a rank, and bad files', async () => {
    await assert.rejects(runDistilRank(parseRankConfig({ ...small, train: rankFixture('train.npy'), val: rankFixture('narrow.npy') })), /has 16 features per row but --val .*narrow.npy has 12/);
    await assert.rejects(runDistilRank(parseRankConfig({ ...small, rank: 16, train: rankFixture('train.npy') })), /--rank 16 must be an integer with 1 <= rank < min\(d_in, d_out\) = 16/);
    await assert.rejects(runDistilRank(parseRankConfig({ ...small, train: rankFixture('hostile.pt') })), /refusing to load global 'os.system'/);
    assertFails(() => parseRankConfig({ val: 'x.npy' }), 'config', 'val needs train');
    assertFails(() => parseRankConfig({ latencyBatches: [1, 1024] }), 'config', 'must include 32');
  });
});
