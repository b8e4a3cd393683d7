import { dtypeError, shapeError } from '../errors.js';
import { numel } from '../tensor/host-array.js';
import type { Node } from '../tensor/node.js';
import { broadcastShapes, fmtShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { unbroadcast } from './grad-util.js';
import type { Primitive } from './primitive.js';
import { broadcastMap } from './ref-util.js';

/** Batched matrix product `(..., m, k) @ (..., k, n) -> (..., m, n)` with broadcast batch dims. */
export const MATMUL: Primitive<'matmul'> = {
  infer: ([a, b]) => {
    const x = a as Node;
    const y = b as Node;
    if (x.dtype !== 'float32' || y.dtype !== 'float32') throw dtypeError('matmul', `needs float32 operands, got ${x.dtype} and ${y.dtype}`);
    if (x.shape.length < 2 || y.shape.length < 2) throw shapeError('matmul', `operands must be at least 2-D, got ${fmtShape(x.shape)} and ${fmtShape(y.shape)}`);
    const k1 = x.shape[x.shape.length - 1];
    const k2 = y.shape[y.shape.length - 2];
    if (k1 !== k2) throw shapeError('matmul', `inner dims differ: ${fmtShape(x.shape)} @ ${fmtShape(y.shape)} (${k1} vs ${k2})`);
    const batch = broadcastShapes('matmul', x.shape.slice(0, -2), y.shape.slice(0, -2));
    return { shape: [...batch, x.shape[x.shape.length - 2] as number, y.shape[y.shape.length - 1] as number], dtype: 'float32' };
  },
  lower: (ctx, _n, [a, b]) => ctx.emit('MatMul', [a as string, b as string]),
  ref: ([a, b], _attrs, out) => {
    const A = a as { shape: readonly number[]; data: Float64Array };
    const B = b as { shape: readonly number[]; data: Float64Array };
    const m = A.shape[A.shape.length - 2] as number;
    const k = A.shape[A.shape.length - 1] as number;
    const n = B.shape[B.shape.length - 1] as number;
    const batch = out.shape.slice(0, -2);
    const nb = numel(batch);
    // Map each output batch to the operand batch offsets by broadcasting batch indices.
    const am = broadcastMap(A.shape.slice(0, -2), batch);
    const bm = broadcastMap(B.shape.slice(0, -2), batch);
    const res = new Float64Array(nb * m * n);
    for (let t = 0; t < nb; t++) {
      const ao = (am[t] as number) * m * k;
      const bo = (bm[t] as number) * k * n;
      const ro = t * m * n;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += (A.data[ao + i * k + p] as number) * (B.data[bo + p * n + j] as number);
          res[ro + i * n + j] = s;
        }
      }
    }
    return res;
  },
  vjp: (g, [a, b]) => {
    const x = a as Tensor;
    const y = b as Tensor;
    return [unbroadcast(g.matmul(y.mT), x.shape), weightGrad(x, g, y.shape)];
  },
};

/** Collapses all leading dims into rows: (..., m, k) -> (N·m, k). */
function flat(t: Tensor): Tensor {
  return t.rank === 2 ? t : t.reshape([-1, t.shape[t.rank - 1] as number]);
}

/**
 * Gradient of the right operand. When it is a plain matrix shared by every batch (a weight) and
 * the left operand is batched, Σ_b x_bᵀ·g_b is one GEMM over all rows, (N·m, k)ᵀ·(N·m, n), instead
 * of a batched product followed by a sum: faster, and the per-batch products never exist.
 */
function weightGrad(x: Tensor, g: Tensor, shape: readonly number[]): Tensor {
  if (shape.length === 2 && x.rank > 2 && g.rank === x.rank) return flat(x).mT.matmul(flat(g)); // (k, N·m) @ (N·m, n) -> (k, n)
  return unbroadcast(x.mT.matmul(g), shape);
}
