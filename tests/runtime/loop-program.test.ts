import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isProtdistilError } from '../../src/errors.js';
import { collectGraph } from '../../src/runtime/graph.js';
import { lowerLoop } from '../../src/runtime/lower-loop.js';
import { LoopProgram } from '../../src/runtime/loop-program.js';
import { Tensor } from '../../src/tensor/tensor.js';

// A toy recurrence checked against a plain JS loop in float32:
//   x_{i+1} = x_i · a + s_i,   reported r_i = Σ x_{i+1} and m_i = max x_{i+1}.
// x is carried, s is stacked (one row per iteration), a is read unchanged by every iteration.
function toyGraph(): { x: Tensor; s: Tensor; a: Tensor; g: ReturnType<typeof collectGraph> } {
  const x = Tensor.placeholder([3], 'float32', 'x');
  const s = Tensor.placeholder([3], 'float32', 's');
  const a = Tensor.from(Float32Array.from([0.5, -1.25, 2]), [3]);
  const next = x.mul(a).add(s);
  return { x, s, a, g: collectGraph([next.sum().node, next.node, next.max().node]) };
}

test('a loop program runs the step graph k times: carried values, stacked rows, per-iteration reports', async () => {
  const { x, s, g } = toyGraph();
  const k = 5;
  const program = await LoopProgram.compile(g, { steps: k, stacked: [s.node], carried: [{ input: x.node, output: 1 }], scan: [0, 2] });
  const rows = Float32Array.from({ length: 3 * k }, (_, i) => Math.fround(Math.sin(i + 1)));
  const x0 = Float32Array.from([1, 2, -3]);
  const xOut = new Float32Array(3);
  const sums = new Float32Array(k);
  const maxes = new Float32Array(k);
  await program.run([rows], [x0], [xOut], [sums, maxes]);
  const a = [0.5, -1.25, 2];
  const ref = Array.from(x0);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < 3; j++) ref[j] = Math.fround(Math.fround(ref[j]! * a[j]!) + rows[i * 3 + j]!);
    assert.ok(Math.abs(sums[i]! - (ref[0]! + ref[1]! + ref[2]!)) < 1e-4 * (1 + Math.abs(sums[i]!)), `sum at iteration ${i}`);
    assert.equal(maxes[i], Math.max(...ref));
  }
  assert.deepEqual(Array.from(xOut), ref);
  assert.deepEqual(Array.from(x0), [1, 2, -3], 'inputs are not written');
});

test('loop lowering names its inputs stacked, carried, then the rest, and rejects overlapping roles', () => {
  const { x, s, a, g } = toyGraph();
  const l = lowerLoop(g, { steps: 4, stacked: [s.node], carried: [{ input: x.node, output: 1 }], scan: [0] });
  assert.deepEqual(l.inputs.map((i) => [i.node, i.dims]), [[s.node, [4, 3]], [x.node, [3]], [a.node, [3]]]);
  assert.deepEqual(l.outputs.map((o) => o.dims), [[3], [4]]);
  const bad = (spec: Parameters<typeof lowerLoop>[1]): void => assert.throws(() => lowerLoop(g, spec), (e) => isProtdistilError(e, 'config'));
  bad({ steps: 4, stacked: [s.node], carried: [{ input: x.node, output: 1 }], scan: [1] }); // output both carried and scanned
  bad({ steps: 4, stacked: [x.node], carried: [{ input: x.node, output: 1 }], scan: [0] }); // input both stacked and carried
  bad({ steps: 0, stacked: [s.node], carried: [{ input: x.node, output: 1 }], scan: [0] });
  bad({ steps: 2, stacked: [s.node], carried: [{ input: x.node, output: 7 }], scan: [0] });
});

test('a loop program checks buffer sizes before running', async () => {
  const { x, s, g } = toyGraph();
  const program = await LoopProgram.compile(g, { steps: 2, stacked: [s.node], carried: [{ input: x.node, output: 1 }], scan: [0] });
  await assert.rejects(program.run([new Float32Array(3)], [new Float32Array(3)], [new Float32Array(3)], [new Float32Array(2)]), (e) => isProtdistilError(e, 'shape') && /needs 6 elements/.test(e.message));
});
