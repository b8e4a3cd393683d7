import assert from 'node:assert/strict';
import { test } from 'node:test';
import { argmaxRows, classificationMetrics } from '../../src/eval/metrics.js';
import { evalFixture } from './fixtures.js';

interface Case {
  name: string;
  y_true: number[];
  y_pred: number[];
  labels: number[] | null;
  scores: number[][] | null;
  expected: {
    accuracy: number;
    macro_precision: number;
    macro_recall: number;
    macro_f1: number;
    classes: number[];
    precision: number[];
    recall: number[];
    f1: number[];
    support: number[];
  };
}

const fixture = evalFixture<{ cases: Case[] }>('metrics.json');
const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-12, `${what}: ${a} vs scikit-learn ${b}`);

test('metrics match scikit-learn (absent classes, explicit labels, argmax ties)', () => {
  assert.ok(fixture.cases.length >= 5);
  for (const c of fixture.cases) {
    let pred = c.y_pred;
    if (c.scores !== null) {
      const k = (c.scores[0] as number[]).length;
      pred = Array.from(argmaxRows(c.scores.flat(), c.scores.length, k));
      assert.deepEqual(pred, c.y_pred, `${c.name}: argmax ties as numpy`);
    }
    const m = classificationMetrics(c.y_true, pred, c.labels ?? undefined);
    const e = c.expected;
    close(m.accuracy, e.accuracy, `${c.name} accuracy`);
    close(m.macroPrecision, e.macro_precision, `${c.name} macro precision`);
    close(m.macroRecall, e.macro_recall, `${c.name} macro recall`);
    close(m.macroF1, e.macro_f1, `${c.name} macro F1`);
    assert.deepEqual(m.perClass.map((p) => p.label), e.classes, c.name);
    m.perClass.forEach((p, i) => {
      close(p.precision, e.precision[i] as number, `${c.name} precision[${i}]`);
      close(p.recall, e.recall[i] as number, `${c.name} recall[${i}]`);
      close(p.f1, e.f1[i] as number, `${c.name} f1[${i}]`);
      assert.equal(p.support, e.support[i], `${c.name} support[${i}]`);
    });
  }
});

test('hand-checked case: one class never predicted, one never true', () => {
  // true 0 0 1 1, pred 0 2 1 0: class 0 P=1/2 R=1/2, class 1 P=1 R=1/2, class 2 P=0 R=0 (never true).
  const m = classificationMetrics([0, 0, 1, 1], [0, 2, 1, 0]);
  assert.equal(m.accuracy, 0.5);
  assert.deepEqual(m.perClass.map((c) => c.label), [0, 1, 2]);
  assert.ok(Math.abs(m.macroPrecision - 0.5) < 1e-15);
  assert.ok(Math.abs(m.macroRecall - 1 / 3) < 1e-15);
  assert.ok(Math.abs(m.macroF1 - (0.5 + 2 / 3 + 0) / 3) < 1e-15);
});

test('metrics reject mismatched or empty inputs', () => {
  assert.throws(() => classificationMetrics([0, 1], [0]), /2 true labels but 1 predictions/);
  assert.throws(() => classificationMetrics([], []), /no examples/);
});
