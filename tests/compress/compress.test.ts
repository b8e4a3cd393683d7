import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { compressEsm } from '../../src/compress/compress.js';
import type { FactorMethod } from '../../src/compress/projection-fit.js';
import { projectionSites } from '../../src/compress/sequential.js';
import { parseEsmConfig } from '../../src/models/esm/config.js';
import { createEsmModel } from '../../src/models/esm/model.js';
import type { Linear } from '../../src/nn/linear.js';
import { LowRankLinear } from '../../src/nn/low-rank-linear.js';
import { fromLinear } from '../../src/rank/low-rank-linear.js';
import { Rng } from '../../src/tensor/random.js';
import { loadEsm } from '../../src/io/esm/load.js';
import { checkpointPaths } from '../models/esm/fixtures.js';
import { matmulTN, matrix } from '../../src/linalg/matrix.js';
import { symmetricEigen } from '../../src/linalg/symmetric-eigen.js';
import { alternatingLeastSquares, denseOutputs, objective } from '../rank/helpers.js';
import { join } from 'node:path';
import { readTokenSet } from '../../src/compress/calibration-set.js';
import { logitsOf, projectionInputs, randomTokenSet, tempDir, writeRandomFasta } from './helpers.js';

const { dir, cleanup } = tempDir();
after(cleanup);

/**
 * A 2-layer model compressed at rank 3, with every projection's input in the final model: each
 * depends only on projections before it, all compressed — exactly the inputs sequential calibration
 * fitted it to.
 */
async function compressTiny(method: FactorMethod) {
  const cfg = parseEsmConfig({ arch: 'esm2', numLayers: 2, embedDim: 8, attentionHeads: 2, ffnDim: 32, tokenDropout: false });
  const original = createEsmModel(cfg, new Rng(3));
  const model = createEsmModel(cfg, new Rng(3));
  const set = await randomTokenSet(dir, 8, 11);
  const r = await compressEsm(model, set, { policy: { kind: 'rank', rank: 3 }, method });
  const paths = projectionSites(model).flatMap((s) => s.members);
  const inputs = await projectionInputs(model, set, paths);
  return { r, set, paths, inputs, dense: new Map(original.namedModules()), compressed: new Map(model.namedModules()) };
}

describe('compressEsm', () => {
  it('at full rank reproduces the original model to float tolerance', async () => {
    const original = loadEsm(checkpointPaths('esm2_t3_tiny').hf).model;
    const model = loadEsm(checkpointPaths('esm2_t3_tiny').hf).model;
    const set = await randomTokenSet(dir, 12, 5);
    const r = await compressEsm(model, set, { policy: { kind: 'rank', rank: 48 }, allowFullRank: true });
    assert.equal(r.projections.filter((p) => p.rank === 48).length, 19, 'every projection factored at rank 48');
    assert.ok(model.layers.every((l) => l.fc1 instanceof LowRankLinear && l.fc2 instanceof LowRankLinear));
    // Fresh sequences, not the calibration ones: an exact refactorisation holds for every input.
    const test = await randomTokenSet(dir, 6, 99);
    const a = await logitsOf(original, test);
    const b = await logitsOf(model, test);
    let maxRef = 0;
    let maxErr = 0;
    a.forEach((x, i) => x.forEach((v, j) => {
      maxRef = Math.max(maxRef, Math.abs(v));
      maxErr = Math.max(maxErr, Math.abs(v - ((b[i] as Float32Array)[j] as number)));
    }));
    assert.ok(maxErr <= 1e-4 * Math.max(1, maxRef), `logits differ by ${maxErr} (max |logit| ${maxRef})`);
  });

  it('fits each projection to the brute-force optimum for the inputs the compressed model feeds it (sequential)', async () => {
    const { r, set, paths, inputs, dense, compressed } = await compressTiny('closed-form');
    assert.equal(r.calibrationTokens, set.tokens);
    assert.equal(paths.length, 13);
    for (const path of paths) {
      const lr = compressed.get(path);
      assert.ok(lr instanceof LowRankLinear, `${path} is factored`);
      const x = inputs.get(path)!;
      assert.equal(x.rows, set.tokens);
      const teacher = fromLinear(dense.get(path) as Linear);
      const got = objective(teacher, lr.factors(), x);
      const best = alternatingLeastSquares(teacher, x, 3, 1).value;
      assert.ok(Math.abs(got - best) <= 2e-4 * best, `${path}: closed form ${got} vs brute-force optimum ${best}`);
      const report = r.projections.find((p) => p.path === path)!;
      assert.equal(report.rank, 3);
      assert.equal(report.paramsAfter, 3 * (teacher.inFeatures + teacher.outFeatures) + teacher.outFeatures);
    }
  });
  it('--method weight-svd: truncated SVD of each weight at the same ranks, its output error exact from the moments and never below the closed form', async () => {
    const { r, paths, inputs, dense, compressed } = await compressTiny('weight-svd');
    assert.equal(r.method, 'weight-svd');
    for (const path of paths) {
      const lr = compressed.get(path);
      assert.ok(lr instanceof LowRankLinear, `${path} is factored`);
      const f = lr.factors();
      const teacher = fromLinear(dense.get(path) as Linear);
      const { inFeatures: D, outFeatures: O } = teacher;
      // ‖W − B·A‖²_F is the sum of the discarded squared singular values (float64 eigenvalues of WᵀW).
      let frob = 0;
      for (let o = 0; o < O; o++) {
        for (let d = 0; d < D; d++) {
          let ba = 0;
          for (let k = 0; k < 3; k++) ba += (f.b[o * 3 + k] as number) * (f.a[k * D + d] as number);
          frob += ((teacher.weight[o * D + d] as number) - ba) ** 2;
        }
      }
      const w = matrix(O, D, teacher.weight);
      const eig = [...symmetricEigen(matmulTN(w, w)).values].sort((a, b) => b - a);
      const discarded = eig.slice(3).reduce((a, v) => a + Math.max(v, 0), 0);
      assert.ok(Math.abs(frob - discarded) <= 1e-4 * Math.max(discarded, 1e-6), `${path}: ‖W − BA‖² ${frob} vs discarded σ² ${discarded}`);
      assert.deepEqual([...f.bias], [...teacher.bias], `${path}: the dense bias is kept`);
      // The reported output error, against a brute-force sum over the inputs this projection sees.
      const x = inputs.get(path)!;
      const lost = objective(teacher, f, x);
      const energy = denseOutputs(teacher, x).reduce((a, v) => a + v * v, 0);
      const report = r.projections.find((p) => p.path === path)!;
      assert.ok(Math.abs(report.relError - lost / energy) <= 1e-4 * (lost / energy) + 1e-9, `${path}: reported rel. error ${report.relError} vs brute force ${lost / energy}`);
      // The closed form is the optimum for these inputs: weight SVD can only lose more.
      const best = alternatingLeastSquares(teacher, x, 3, 1).value;
      assert.ok(lost >= best * (1 - 1e-4), `${path}: weight SVD ${lost} below the optimum ${best}`);
    }
  });
});

describe('calibration masks', () => {
  it('readTokenSet replaces about the asked fraction of residues by <mask>, never BOS/EOS/pad, the same for a seed', async () => {
    const path = join(dir, 'mask-calib.fasta');
    writeRandomFasta(path, 20, 6);
    const read = (maskProb: number, seed: number) => readTokenSet(path, { maxTokens: 1e9, truncationSeqLength: 1022, toksPerBatch: 1024, maskProb, seed });
    const clean = await read(0, 0);
    const a = await read(0.3, 1);
    let residues = 0;
    let masked = 0;
    a.batches.forEach((b, k) => {
      const T = b.tokens.shape[1] as number;
      const c = clean.batches[k]!.tokens.data;
      b.lengths.forEach((n, r) => {
        for (let j = 0; j < T; j++) {
          const v = b.tokens.data[r * T + j]!;
          if (j === 0 || j >= n - 1) assert.equal(v, c[r * T + j], 'BOS, EOS and padding are never masked');
          else {
            residues++;
            if (v === 32n) masked++;
            else assert.equal(v, c[r * T + j]);
          }
        }
      });
    });
    assert.ok(Math.abs(masked / residues - 0.3) < 0.05, `masked fraction ${masked / residues}`);
    assert.deepEqual((await read(0.3, 1)).batches.map((b) => [...b.tokens.data]), a.batches.map((b) => [...b.tokens.data]));
    await assert.rejects(read(1, 0), /--calibration-mask-prob must lie in \[0, 1\)/);
  });

  it('calibrating with masks keeps the <mask> input: masked-LM logits stay closer to the original', async () => {
    const cfg = parseEsmConfig({ arch: 'esm2', numLayers: 2, embedDim: 32, attentionHeads: 2, ffnDim: 64, tokenDropout: true });
    const path = join(dir, 'mask-calib2.fasta');
    writeRandomFasta(path, 40, 8);
    const testPath = join(dir, 'mask-test.fasta');
    writeRandomFasta(testPath, 10, 9);
    const test = await readTokenSet(testPath, { maxTokens: 1e9, truncationSeqLength: 1022, toksPerBatch: 1024, maskProb: 0.15, seed: 3 });
    const original = createEsmModel(cfg, new Rng(12));
    const ref = await logitsOf(original, test);
    const err = async (maskProb: number): Promise<number> => {
      const model = createEsmModel(cfg, new Rng(12));
      const set = await readTokenSet(path, { maxTokens: 1e9, truncationSeqLength: 1022, toksPerBatch: 1024, maskProb, seed: 5 });
      await compressEsm(model, set, { policy: { kind: 'rank', rank: 12 } });
      const got = await logitsOf(model, test);
      let e = 0;
      got.forEach((x, i) => x.forEach((v, j) => (e += (v - (ref[i] as Float32Array)[j]!) ** 2)));
      return e;
    };
    const clean = await err(0);
    const masked = await err(0.15);
    assert.ok(masked < 0.5 * clean, `logit error with calibration masks ${masked} vs without ${clean}`);
  });
});
