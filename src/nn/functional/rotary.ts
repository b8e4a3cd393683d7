import { Tensor } from '../../tensor/tensor.js';

/**
 * Rotary position embedding, rotate-half convention (Su et al., https://arxiv.org/abs/2104.09864;
 * as fair-esm `esm/rotary_embedding.py`): x·cos + rotate_half(x)·sin, where rotate_half splits the
 * head dim into halves (x1, x2) and returns (−x2, x1).
 */

/** Default inverse frequencies 1 / 10000^(2i/Dh), i < Dh/2. */
export function rotaryInvFreq(headDim: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim / 2; i++) out[i] = 1 / Math.pow(10000, (2 * i) / headDim);
  return out;
}

/** cos and sin tables (T, Dh) for positions 0..T−1 built as cat(freqs, freqs), computed in float32. */
export function rotaryTables(length: number, invFreq: Float32Array): { cos: Tensor; sin: Tensor } {
  const half = invFreq.length;
  const dh = 2 * half;
  const cos = new Float32Array(length * dh);
  const sin = new Float32Array(length * dh);
  for (let t = 0; t < length; t++) {
    for (let i = 0; i < half; i++) {
      const f = Math.fround(t * (invFreq[i] as number));
      const c = Math.cos(f);
      const s = Math.sin(f);
      cos[t * dh + i] = c;
      cos[t * dh + half + i] = c;
      sin[t * dh + i] = s;
      sin[t * dh + half + i] = s;
    }
  }
  return { cos: Tensor.from(cos, [length, dh]), sin: Tensor.from(sin, [length, dh]) };
}

/** (−x2, x1) over the last dim. */
export function rotateHalf(x: Tensor): Tensor {
  const d = x.shape[x.rank - 1] as number;
  const x1 = x.slice(-1, 0, d / 2);
  const x2 = x.slice(-1, d / 2, d);
  return Tensor.concat([x2.neg(), x1], -1);
}

/** Applies rotary embedding to x (…, T, Dh) with tables (T, Dh). */
export function applyRotary(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  return x.mul(cos).add(rotateHalf(x).mul(sin));
}
