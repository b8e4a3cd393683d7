import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.js';
import { evaluateReference } from '../../src/runtime/reference.js';
import { CASES, EXTRA_CASES, caseInputs } from './cases.js';

// Every primitive and composition runs on ONNX Runtime (float32) and on the float64 reference
// evaluator; results must agree to within float32 rounding: max|ort − ref| ≤ 1e-5·max(1, max|ref|)
// unless the case states otherwise.
for (const c of [...CASES, ...EXTRA_CASES]) {
  test(`ORT matches the reference: ${c.name}`, async () => {
    const inputs = caseInputs(c, 1);
    const xs = c.shapes.map((s, i) => Tensor.from(Float32Array.from(inputs[i] as Float64Array), s));
    const y = c.f(xs);
    const [ref] = evaluateReference([y]);
    const ort = Array.from((await y.toArray()) as Float32Array | Uint8Array, Number);
    assert.equal(ort.length, (ref as Float64Array).length);
    let scale = 1;
    for (const v of ref as Float64Array) scale = Math.max(scale, Math.abs(v));
    const tol = (c.ortTol ?? 1e-5) * scale;
    for (let i = 0; i < ort.length; i++) {
      const d = Math.abs((ort[i] as number) - ((ref as Float64Array)[i] as number));
      assert.ok(d <= tol, `element ${i}: ORT ${ort[i]} vs reference ${(ref as Float64Array)[i]} (|Δ| ${d.toExponential(2)} > ${tol.toExponential(2)})`);
    }
  });
}
