import { dtypeError, shapeError } from '../errors.js';
import { numel } from '../tensor/host-array.js';
import type { Node } from '../tensor/node.js';
import { fmtShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Primitive, RefValue } from './primitive.js';
import { erf64 } from './ref-util.js';

/**
 * Fused primitives: ONNX has single ops for their forward pass (which ORT runs fast and stably);
 * their backward passes are composed from other primitives.
 */

function floatInfer(op: string) {
  return ([x]: readonly Node[]) => {
    const n = x as Node;
    if (n.dtype !== 'float32') throw dtypeError(op, `needs float32, got ${n.dtype}`);
    return { shape: [...n.shape], dtype: 'float32' as const };
  };
}

/** Calls `f(lane)` for every 1-D lane along `axis`, with a strided read/write view. */
function forLanes(shape: readonly number[], axis: number, f: (base: number, stride: number, n: number) => void): void {
  const outer = numel(shape.slice(0, axis));
  const n = shape[axis] as number;
  const inner = numel(shape.slice(axis + 1));
  for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) f(o * n * inner + j, inner, n);
}

function refSoftmax(x: RefValue, axis: number, log: boolean): Float64Array {
  const out = new Float64Array(x.data.length);
  forLanes(x.shape, axis, (b, s, n) => {
    let m = -Infinity;
    for (let i = 0; i < n; i++) m = Math.max(m, x.data[b + i * s] as number);
    let z = 0;
    for (let i = 0; i < n; i++) z += Math.exp((x.data[b + i * s] as number) - m);
    for (let i = 0; i < n; i++) {
      const v = (x.data[b + i * s] as number) - m;
      out[b + i * s] = log ? v - Math.log(z) : Math.exp(v) / z;
    }
  });
  return out;
}

export const SOFTMAX: Primitive<'softmax'> = {
  infer: floatInfer('softmax'),
  lower: (ctx, _n, [x], a) => ctx.emit('Softmax', [x as string], { axis: { int: a.axis } }),
  ref: ([x], a) => refSoftmax(x as RefValue, a.axis, false),
  // dx = y ⊙ (g − Σ g⊙y)
  vjp: (g, _x, y, a) => [y.mul(g.sub(g.mul(y).sum(a.axis, true)))],
};

export const LOG_SOFTMAX: Primitive<'logSoftmax'> = {
  infer: floatInfer('logSoftmax'),
  lower: (ctx, _n, [x], a) => ctx.emit('LogSoftmax', [x as string], { axis: { int: a.axis } }),
  ref: ([x], a) => refSoftmax(x as RefValue, a.axis, true),
  // dx = g − softmax(x) ⊙ Σ g
  vjp: (g, _x, y, a) => [g.sub(y.exp().mul(g.sum(a.axis, true)))],
};

export const LAYER_NORM: Primitive<'layerNorm'> = {
  infer: ([x, gamma, beta]) => {
    const n = x as Node;
    const e = n.shape[n.shape.length - 1];
    for (const [name, p] of [['gamma', gamma], ['beta', beta]] as const) {
      const q = p as Node;
      if (q.dtype !== 'float32' || n.dtype !== 'float32') throw dtypeError('layerNorm', `needs float32 tensors (${name} is ${q.dtype}, x is ${n.dtype})`);
      if (q.shape.length !== 1 || q.shape[0] !== e) throw shapeError('layerNorm', `${name} has shape ${fmtShape(q.shape)}, expected [${e}] to match x ${fmtShape(n.shape)}`);
    }
    return { shape: [...n.shape], dtype: 'float32' };
  },
  lower: (ctx, _n, [x, g, b], a) =>
    ctx.emit('LayerNormalization', [x as string, g as string, b as string], { axis: { int: -1 }, epsilon: { float: a.eps } }),
  ref: ([x, gamma, beta], a) => {
    const v = x as RefValue;
    const e = v.shape[v.shape.length - 1] as number;
    const out = new Float64Array(v.data.length);
    for (let r = 0; r < v.data.length / e; r++) {
      let mu = 0;
      for (let i = 0; i < e; i++) mu += v.data[r * e + i] as number;
      mu /= e;
      let va = 0;
      for (let i = 0; i < e; i++) va += ((v.data[r * e + i] as number) - mu) ** 2;
      const rstd = 1 / Math.sqrt(va / e + a.eps);
      for (let i = 0; i < e; i++) {
        out[r * e + i] = ((v.data[r * e + i] as number) - mu) * rstd * ((gamma as RefValue).data[i] as number) + ((beta as RefValue).data[i] as number);
      }
    }
    return out;
  },
  vjp: (g, [x, gamma], _y, a) => {
    const xt = x as Tensor;
    const lead = Array.from({ length: xt.rank - 1 }, (_, i) => i);
    const xc = xt.sub(xt.mean(-1, true));
    const rstd = xc.square().mean(-1, true).add(a.eps).rsqrt();
    const xhat = xc.mul(rstd);
    const gh = g.mul(gamma as Tensor);
    // dx = rstd ⊙ (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂)), with ĝ = g ⊙ γ
    const dx = gh.sub(gh.mean(-1, true)).sub(xhat.mul(gh.mul(xhat).mean(-1, true))).mul(rstd);
    return [dx, g.mul(xhat).sum(lead), g.sum(lead)];
  },
};

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const GELU: Primitive<'gelu'> = {
  infer: floatInfer('gelu'),
  lower: (ctx, _n, [x]) => ctx.emit('Gelu', [x as string]),
  ref: ([x]) => Float64Array.from((x as RefValue).data, (v) => 0.5 * v * (1 + erf64(v * Math.SQRT1_2))),
  // d/dx x·Φ(x) = Φ(x) + x·φ(x), Φ(x) = (1 + erf(x/√2))/2, φ(x) = exp(−x²/2)/√(2π)
  vjp: (g, [x]) => {
    const t = x as Tensor;
    const cdf = t.mul(Math.SQRT1_2).erf().add(1).mul(0.5);
    const pdf = t.square().mul(-0.5).exp().mul(INV_SQRT_2PI);
    return [g.mul(cdf.add(t.mul(pdf)))];
  },
};
