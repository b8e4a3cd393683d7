import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isProtdistilError } from '../../src/errors.js';
import { constantSchedule, cosineSchedule, linearSchedule } from '../../src/optim/schedules.js';

test('schedules follow the Hugging Face conventions (hand-computed values)', () => {
  const c = cosineSchedule({ peak: 1, warmup: 4, total: 12, minRatio: 0.1 });
  assert.deepEqual([0, 1, 2, 3].map(c), [0, 0.25, 0.5, 0.75]);
  assert.equal(c(4), 1);
  assert.ok(Math.abs(c(8) - (0.1 + 0.9 * 0.5)) < 1e-15); // halfway: cos(π/2) = 0
  assert.ok(Math.abs(c(12) - 0.1) < 1e-15);
  assert.ok(Math.abs(c(100) - 0.1) < 1e-15); // clamped after total
  const l = linearSchedule({ peak: 2, warmup: 2, total: 6 });
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(l), [0, 1, 2, 1.5, 1, 0.5, 0, 0]);
  assert.deepEqual([0, 5, 500].map(constantSchedule({ peak: 0.3 })), [0.3, 0.3, 0.3]);
});

test('bad schedule settings are config errors', () => {
  assert.throws(() => cosineSchedule({ peak: 1, warmup: 10, total: 5 }), (e) => isProtdistilError(e, 'config'));
  assert.throws(() => linearSchedule({ peak: -1, total: 5 }), (e) => isProtdistilError(e, 'config'));
  assert.throws(() => constantSchedule({ peak: 1, warmup: 1.5 }), (e) => isProtdistilError(e, 'config'));
});
