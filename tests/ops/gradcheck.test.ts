import { test } from 'node:test';
import { gradCheck } from '../helpers/gradcheck.js';
import { CASES, EXTRA_CASES, caseInputs } from './cases.js';

// Float64 finite differences (h = 1e-6, central) against the graph-built gradients, on the
// reference evaluator, for every case that has a gradient.
for (const c of [...CASES, ...EXTRA_CASES]) {
  if (c.wrt !== undefined && c.wrt.length === 0) continue;
  test(`gradient matches finite differences: ${c.name}`, () => {
    gradCheck(c.f, caseInputs(c, 2), c.shapes, { ...(c.wrt === undefined ? {} : { wrt: c.wrt }), tol: 1e-6 });
  });
}
