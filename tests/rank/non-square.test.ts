import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { closedFormFactors, inputStats, outputBasis } from '../../src/rank/closed-form.js';
import { parseRankConfig } from '../../src/rank/config.js';
import { readEmbeddings } from '../../src/rank/embeddings.js';
import { readLayerFile } from '../../src/rank/layer-file.js';
import { runDistilRank } from '../../src/rank/pipeline.js';
import { studentFiles } from '../../src/rank/student-export.js';
import { summaryJson } from '../../src/rank/summary.js';
import { denseOutputs, lowRankOutputs, rankFixture, sumSquaredError } from './helpers.js';

/**
 * Distil-Rank on trained layers with out ≠ in, saved by PyTorch
 * (scripts/fixtures/make_rank_layer_fixtures.py): the closed form against the generator's
 * brute-force optimum, and every step of the pipeline on a wide (16 -> 24) and a narrow (16 -> 6) layer.
 */

const expected = JSON.parse(readFileSync(rankFixture('layers/expected.json'), 'utf8')) as { wide: { optimal_train_mse: number[] } };

describe('Distil-Rank on non-square trained layers', () => {
  it('the closed form on a 16 -> 24 layer reaches the brute-force optimum (float64 ALS in PyTorch/NumPy) at every rank 1..15', async () => {
    const layer = readLayerFile(rankFixture('layers/wide.pt'));
    const x = readEmbeddings(rankFixture('train.npy'));
    const stats = await inputStats(x);
    const basis = await outputBasis(layer, stats, 15, 'exact');
    const teacherY = denseOutputs(layer, x);
    const optimum = expected.wide.optimal_train_mse;
    assert.equal(optimum.length, 15);
    for (let r = 1; r <= 15; r++) {
      const f = closedFormFactors(layer, basis, stats.mean, r);
      assert.deepEqual([f.a.length, f.b.length, f.bias.length], [r * 16, 24 * r, 24]);
      const mse = sumSquaredError(teacherY, lowRankOutputs(f, x)) / teacherY.length;
      const best = optimum[r - 1]!;
      // float32 factors and outputs: agreement to 0.2% of the optimum, or 1e-10 absolute where it is tiny.
      assert.ok(Math.abs(mse - best) <= 2e-3 * best + 1e-10, `rank ${r}: closed form ${mse} vs optimum ${best}`);
    }
  });

  it('runs every step on a wide and a narrow layer: SVD, closed form, distillation, sweep, cosine targets, latency, export, summary', async () => {
    const config = parseRankConfig({
      layers: [rankFixture('layers/wide.pt'), rankFixture('layers/narrow.pt')],
      train: rankFixture('train.npy'),
      val: rankFixture('val.npy'),
      steps: 30,
      batchSize: 8,
      sweep: [2, 4, 8, 16, 32],
      latencyRepeats: 3,
      latencyWarmup: 1,
      latencyBatches: [1, 32],
    });
    const r = await runDistilRank(config);
    assert.deepEqual(r.teachers.map((t) => [t.id, t.source, t.outFeatures, t.inFeatures]), [['wide', 'file', 24, 16], ['narrow', 'file', 6, 16]]);
    const [wide, narrow] = r.teachers as [(typeof r.teachers)[number], (typeof r.teachers)[number]];
    // Default rank 64 is capped at min(in, out) - 1; the sweep keeps ranks below min(in, out).
    assert.equal(wide.rank, 15);
    assert.equal(narrow.rank, 5);
    assert.deepEqual(wide.sweep.map((p) => p.rank), [2, 4, 8]);
    assert.deepEqual(narrow.sweep.map((p) => p.rank), [2, 4]);
    assert.equal(wide.svd.spectrum.length, 16, 'min(in, out) singular values');
    assert.equal(narrow.svd.spectrum.length, 6);
    for (const t of r.teachers) {
      const f = t.student.factors;
      assert.deepEqual([f.inFeatures, f.outFeatures, f.rank], [16, t.outFeatures, t.rank]);
      assert.equal(t.paramsStudent, t.rank * (16 + t.outFeatures) + t.outFeatures);
      assert.equal(t.teacher.params, 16 * t.outFeatures + t.outFeatures);
      assert.ok(t.closedForm.train.mse <= t.svd.train.mse * (1 + 1e-5), `${t.id}: closed form is the training optimum`);
      assert.ok(t.closedForm.train.mse <= t.student.train.mse * (1 + 1e-5), `${t.id}: closed form vs student`);
      assert.equal(t.student.history.loss.length, 30);
      assert.deepEqual(t.latency.map((l) => l.batch), [1, 32]);
      // Cosine targets: the smallest rank reaching each, with its parameters and measured speed.
      assert.deepEqual(t.cosineTargets?.map((p) => p.target), [0.99, 0.999, 0.9999]);
      for (const p of t.cosineTargets ?? []) {
        if (p.rank === null) {
          assert.ok(p.cosine < p.target);
          continue;
        }
        assert.ok(p.cosine >= p.target && p.rank < Math.min(16, t.outFeatures));
        assert.equal(p.params, p.rank * (16 + t.outFeatures) + t.outFeatures);
        assert.ok(p.speedup !== null && p.speedup > 0 && p.batch === 32);
      }
      const files = studentFiles(`out/${t.id}`, t.student.factors, {});
      const config = JSON.parse(files[1]!.data as string) as Record<string, unknown>;
      assert.deepEqual([config.in_features, config.out_features, config.rank], [16, t.outFeatures, t.rank]);
    }
    // On these 12 held-out rows the wide layer reaches 0.99 below full rank but not 0.999 (both branches exercised).
    assert.deepEqual(wide.cosineTargets!.map((p) => p.rank !== null), [true, false, false], JSON.stringify(wide.cosineTargets));
    const s = summaryJson(r) as { experiments: Record<string, Record<string, unknown>>; output_dim: unknown; input_dim: number; target_rank: unknown };
    assert.deepEqual(Object.keys(s.experiments), ['wide', 'narrow']);
    assert.deepEqual([s.experiments.wide!.in_features, s.experiments.wide!.out_features, s.experiments.wide!.bias], [16, 24, true]);
    assert.equal(s.experiments.narrow!.bias, false);
    assert.equal(s.input_dim, 16);
    assert.equal(s.output_dim, null, 'the layers differ in width');
    assert.equal(s.target_rank, null, 'the ranks differ');
    assert.ok(Array.isArray(s.experiments.wide!.cosine_targets));
  });

  it('with --layer the built-in teachers are off unless --teachers names them; names may not collide', async () => {
    const base = { train: rankFixture('train.npy'), steps: 5, batchSize: 8, teacherSteps: 3, teacherBatchSize: 8, sweep: [], latencyRepeats: 1, latencyWarmup: 0, latencyBatches: [32] };
    const both = await runDistilRank(parseRankConfig({ ...base, layers: [rankFixture('layers/narrow.pt')], teachers: ['spectral'] }));
    assert.deepEqual(both.teachers.map((t) => [t.id, t.experiment]), [['spectral', 'Spectral'], ['narrow', 'narrow']]);
    await assert.rejects(runDistilRank(parseRankConfig({ ...base, layers: [rankFixture('layers/wide.pt'), rankFixture('layers/wide.npz')] })), /name 'wide' \(the file stem\) is taken by --layer .*wide\.pt/);
    await assert.rejects(runDistilRank(parseRankConfig({ ...base, layers: [rankFixture('layers/bad/wrong-in.pt')] })), /takes 12 input features \(weight 8 x 12\) but the embeddings have 16 per row/);
    await assert.rejects(runDistilRank(parseRankConfig({ ...base, rank: 6, layers: [rankFixture('layers/narrow.pt')] })), /--rank \(layer 'narrow'\) 6 must be an integer with 1 <= rank < min\(d_in, d_out\) = 6/);
    assert.throws(() => parseRankConfig({ teachers: [] }), /nothing to compress/);
  });
});
