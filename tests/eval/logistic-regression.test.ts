import assert from 'node:assert/strict';
import { test } from 'node:test';
import { minimizeLbfgs } from '../../src/eval/lbfgs.js';
import { decisionFunction, fitLogisticRegression, LogisticObjective } from '../../src/eval/logistic-regression.js';
import { argmaxRows } from '../../src/eval/metrics.js';
import { evalFixture } from './fixtures.js';

interface Fit {
  C: number;
  coef: number[][];
  intercept: number[];
  objective: number;
  predict: number[];
}
const fx = evalFixture<{ X: number[][]; y: number[]; classes: number; fits: Fit[] }>('logreg.json');

test('L-BFGS finds the minimum of a badly scaled quadratic', async () => {
  // f = Σ a_i (x_i - c_i)², a from 1 to 1e4: the minimum is c.
  const n = 20;
  const a = Float64Array.from({ length: n }, (_, i) => 10 ** ((4 * i) / (n - 1)));
  const c = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
  const r = await minimizeLbfgs(async (x, g) => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      const d = (x[i] as number) - (c[i] as number);
      f += (a[i] as number) * d * d;
      g[i] = 2 * (a[i] as number) * d;
    }
    return f;
  }, new Float64Array(n), { gtol: 1e-9, ftol: 0 });
  assert.equal(r.reason, 'gtol');
  for (let i = 0; i < n; i++) assert.ok(Math.abs((r.x[i] as number) - (c[i] as number)) < 1e-8, `x[${i}]`);
});

test('logistic regression on the engine reaches scikit-learn’s optimum for every C of the grid', async () => {
  const n = fx.y.length;
  const d = (fx.X[0] as number[]).length;
  const k = fx.classes;
  const x = Float32Array.from(fx.X.flat());
  const y = Int32Array.from(fx.y);
  const obj = await LogisticObjective.create(x, y, d, k);
  for (const ref of fx.fits) {
    const m = await fitLogisticRegression(obj, { C: ref.C, gtol: 1e-7 });
    // Same objective value (ours is evaluated in float32 over the data: 1e-6 relative is its precision).
    const rel = (m.objective - ref.objective) / ref.objective;
    assert.ok(Math.abs(rel) < 2e-6, `C=${ref.C}: objective ${m.objective} vs scikit-learn ${ref.objective} (rel ${rel})`);
    // Same minimiser: the objective is strictly convex in W (and in b up to nothing: softmax shifts are pinned by C·ΣCE only
    // through b's sum, so compare centred intercepts as scikit-learn's are).
    let maxErr = 0;
    let maxRef = 0;
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < d; j++) {
        maxErr = Math.max(maxErr, Math.abs((m.weight[j * k + c] as number) - ((ref.coef[c] as number[])[j] as number)));
        maxRef = Math.max(maxRef, Math.abs((ref.coef[c] as number[])[j] as number));
      }
    }
    assert.ok(maxErr < 2e-3 * Math.max(1, maxRef), `C=${ref.C}: max |W - W_ref| = ${maxErr} (max |W_ref| ${maxRef})`);
    const mb = m.bias.reduce((s, v) => s + v, 0) / k;
    const rb = ref.intercept.reduce((s, v) => s + v, 0) / k;
    ref.intercept.forEach((v, c) => assert.ok(Math.abs((m.bias[c] as number) - mb - (v - rb)) < 2e-3 * Math.max(1, maxRef), `C=${ref.C} intercept ${c}`));
    const pred = argmaxRows(await decisionFunction(m, x), n, k);
    assert.deepEqual(Array.from(pred), ref.predict, `C=${ref.C}: predictions`);
  }
});

test('a warm start at a neighbouring C reaches the same optimum in fewer evaluations', async () => {
  const d = (fx.X[0] as number[]).length;
  const obj = await LogisticObjective.create(Float32Array.from(fx.X.flat()), Int32Array.from(fx.y), d, fx.classes);
  const cold = await fitLogisticRegression(obj, { C: 10 });
  const warm = await fitLogisticRegression(obj, { C: 10, init: await fitLogisticRegression(obj, { C: 1 }) });
  assert.ok(Math.abs(warm.objective - cold.objective) / cold.objective < 2e-6);
  assert.ok(warm.optimizer.evaluations < cold.optimizer.evaluations, `${warm.optimizer.evaluations} vs ${cold.optimizer.evaluations}`);
});

test('bad class ids and C are refused', async () => {
  await assert.rejects(LogisticObjective.create(new Float32Array(4), Int32Array.from([0, 3]), 2, 3), /class id 3 of row 1 is outside \[0, 3\)/);
  const obj = await LogisticObjective.create(new Float32Array(4), Int32Array.from([0, 1]), 2, 2);
  await assert.rejects(fitLogisticRegression(obj, { C: 0 }), /C must be a positive number/);
});
