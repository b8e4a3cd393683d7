import { test } from 'node:test';
import { grad } from '../../../src/autograd/grad.js';
import { gelu } from '../../../src/nn/functional/activations.js';
import { scaledDotProductAttention } from '../../../src/nn/functional/attention.js';
import { crossEntropy, distillationLoss, klDivergence, mse, validMask } from '../../../src/nn/functional/losses.js';
import { applyRotary, rotaryTables } from '../../../src/nn/functional/rotary.js';
import { cosineSimilarity } from '../../../src/nn/functional/similarity.js';
import { realize } from '../../../src/runtime/realize.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { field, loadGolden } from '../../helpers/golden.js';
import { assertClose } from '../../helpers/numeric.js';

// Golden values from PyTorch (float64) — scripts/golden/make_golden.py. Our ORT float32 results
// must agree within 2e-5 absolute + 2e-5 relative (float32 rounding over a few ops).
const TOL = { atol: 2e-5, rtol: 2e-5 };

const leaf = (o: Record<string, unknown>, k: string, rg = true): Tensor => {
  const f = field(o, k);
  return Tensor.from(f.data, f.shape, 'float32', rg);
};
async function check(t: Tensor, o: Record<string, unknown>, k: string): Promise<void> {
  await realize(t);
  assertClose(Array.from(t.node.realized as Float32Array), field(o, k).f64, TOL, k);
}

test('attention with key padding matches PyTorch (output, probabilities, dq, dk, dv)', async () => {
  const o = loadGolden('attention');
  const [q, k, v, g] = ['q', 'k', 'v', 'g'].map((n) => leaf(o, n, n !== 'g')) as [Tensor, Tensor, Tensor, Tensor];
  const lengths = o.lengths as number[];
  const T = q.shape[2] as number;
  const mask = Tensor.from(lengths.flatMap((l) => Array.from({ length: T }, (_, t) => (t >= l ? 1 : 0))), [lengths.length, T], 'bool');
  const { out, probs } = scaledDotProductAttention(q, k, v, { keyPaddingMask: mask });
  const [dq, dk, dv] = grad(out.mul(g).sum(), [q, k, v]) as [Tensor, Tensor, Tensor];
  await check(out, o, 'out');
  await check(probs, o, 'p');
  await check(dq, o, 'dq');
  await check(dk, o, 'dk');
  await check(dv, o, 'dv');
});

test('rotary attention matches PyTorch (rotated q/k and gradients through the rotation)', async () => {
  const base = loadGolden('attention');
  const o = base.attention_rotary as Record<string, unknown>;
  const [q, k, v, g] = ['q', 'k', 'v', 'g'].map((n) => leaf(base, n, n !== 'g')) as [Tensor, Tensor, Tensor, Tensor];
  const T = q.shape[2] as number;
  const { cos, sin } = rotaryTables(T, field(o, 'inv_freq').data);
  await check(cos, o, 'cos');
  await check(sin, o, 'sin');
  const qr = applyRotary(q, cos, sin);
  const kr = applyRotary(k, cos, sin);
  const lengths = base.lengths as number[];
  const mask = Tensor.from(lengths.flatMap((l) => Array.from({ length: T }, (_, t) => (t >= l ? 1 : 0))), [lengths.length, T], 'bool');
  const { out } = scaledDotProductAttention(qr, kr, v, { keyPaddingMask: mask });
  const [dq, dk, dv] = grad(out.mul(g).sum(), [q, k, v]) as [Tensor, Tensor, Tensor];
  await check(qr, o, 'q_rot');
  await check(kr, o, 'k_rot');
  await check(out, o, 'out');
  await check(dq, o, 'dq');
  await check(dk, o, 'dk');
  await check(dv, o, 'dv');
});

test('layer norm, GELU, softmax and log-softmax match PyTorch with gradients', async () => {
  const o = loadGolden('layernorm');
  const x = leaf(o, 'x');
  const gamma = leaf(o, 'gamma');
  const beta = leaf(o, 'beta');
  const g = leaf(o, 'g', false);
  const y = x.layerNorm(gamma, beta, o.eps as number);
  const [dx, dgamma, dbeta] = grad(y.mul(g).sum(), [x, gamma, beta]) as [Tensor, Tensor, Tensor];
  await check(y, o, 'out');
  await check(dx, o, 'dx');
  await check(dgamma, o, 'dgamma');
  await check(dbeta, o, 'dbeta');
  const gx = leaf(o, 'gelu_x');
  const gy = gelu(gx);
  await check(gy, o, 'gelu');
  await check(grad(gy.sum(), [gx])[0] as Tensor, o, 'dgelu');
  const s = leaf(o, 's');
  const sm = s.softmax(-1);
  const ls = s.logSoftmax(-1);
  await check(sm, o, 'softmax');
  await check(ls, o, 'log_softmax');
  await check(grad(sm.mul(leaf(o, 'g_softmax', false)).sum(), [s])[0] as Tensor, o, 'dsoftmax');
  await check(grad(ls.mul(leaf(o, 'g_log_softmax', false)).sum(), [s])[0] as Tensor, o, 'dlog_softmax');
});

test('cross-entropy (ignore index), temperature KL, distillation loss, MSE and cosine match PyTorch', async () => {
  const o = loadGolden('losses');
  const student = leaf(o, 'student');
  const teacher = leaf(o, 'teacher', false);
  const tg = field(o, 'targets');
  const targets = Tensor.from(Array.from(tg.f64), tg.shape, 'int64');
  const T = o.temperature as number;
  const lambda = o.lambda as number;
  const ce = crossEntropy(student, targets, o.ignore_index as number);
  const kl = klDivergence(student, teacher, T, validMask(targets, o.ignore_index as number));
  const { loss } = distillationLoss(student, teacher, targets, { lambda, temperature: T, ignoreIndex: o.ignore_index as number });
  await check(ce, o, 'ce');
  await check(kl, o, 'kl');
  await check(loss, o, 'loss');
  await check(grad(loss, [student])[0] as Tensor, o, 'dloss');
  await check(grad(ce, [student])[0] as Tensor, o, 'dce');
  await check(grad(kl, [student])[0] as Tensor, o, 'dkl');
  const a = leaf(o, 'mse_a');
  const m = mse(a, leaf(o, 'mse_b', false));
  await check(m, o, 'mse');
  await check(grad(m, [a])[0] as Tensor, o, 'dmse');
  const ca = leaf(o, 'cos_a');
  const rows = cosineSimilarity(ca, leaf(o, 'cos_b', false));
  await check(rows, o, 'cos_rows');
  await check(rows.mean(), o, 'cos_mean');
  await check(grad(rows.mean(), [ca])[0] as Tensor, o, 'dcos');
});

test('broadcast batched matmul, keepdims sum and max match PyTorch with gradients', async () => {
  const o = loadGolden('matmul_broadcast');
  const a = leaf(o, 'a');
  const b = leaf(o, 'b');
  const c = a.matmul(b);
  const [da, db] = grad(c.mul(leaf(o, 'g', false)).sum(), [a, b]) as [Tensor, Tensor];
  await check(c, o, 'c');
  await check(da, o, 'da');
  await check(db, o, 'db');
  const sx = leaf(o, 'sum_x');
  const so = sx.sum(1, true);
  await check(so, o, 'sum_out');
  await check(grad(so.mul(leaf(o, 'sum_g', false)).sum(), [sx])[0] as Tensor, o, 'sum_dx');
  const mx = leaf(o, 'max_x');
  const mo = mx.max(0);
  await check(mo, o, 'max_out');
  await check(grad(mo.mul(leaf(o, 'max_g', false)).sum(), [mx])[0] as Tensor, o, 'max_dx');
});
