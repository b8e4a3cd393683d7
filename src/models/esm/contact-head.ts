import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import { shapeError } from '../../errors.js';
import type { Rng } from '../../tensor/random.js';
import { fmtShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';

/**
 * Contact prediction from attention maps (Rao et al. 2021, https://openreview.net/forum?id=fylclEqgvgd;
 * fair-esm `esm/modules.py` ContactPredictionHead, spec §4.11): drop EOS and BOS, symmetrise each
 * of the L·H maps, apply the average product correction, then a logistic regression over the maps.
 *
 * Dims: B batch, T tokens, L layers, H heads, T' = T − 2.
 */
export class ContactPredictionHead extends Module {
  /** (L·H) -> 1 logistic regression; channel c = l·H + h. */
  readonly regression: Linear;

  constructor(readonly layers: number, readonly heads: number, rng: Rng) {
    super();
    this.regression = new Linear(layers * heads, 1, { rng });
  }

  /**
   * attentions (B, L, H, T, T) with pad rows/columns already zero, tokens (B, T) -> contact
   * probabilities (B, T − 2, T − 2). Written without size-dependent constants, so graphs traced at
   * one length run at any other.
   */
  forward(attentions: Tensor, tokens: Tensor, eosIdx: number): Tensor {
    const [b, l, h, t] = attentions.shape as [number, number, number, number, number];
    if (attentions.rank !== 5 || l !== this.layers || h !== this.heads || tokens.rank !== 2 || tokens.shape[0] !== b || tokens.shape[1] !== t) {
      throw shapeError('ContactPredictionHead', `attentions ${fmtShape(attentions.shape)} and tokens ${fmtShape(tokens.shape)} do not fit L=${this.layers}, H=${this.heads}`);
    }
    if (t < 3) throw shapeError('ContactPredictionHead', `needs at least 3 tokens (BOS, a residue, EOS), got T = ${t}`);
    // Zero rows and columns at EOS tokens.
    const notEos = tokens.equal(eosIdx).logicalNot().cast('float32'); // (B, T)
    const keep = notEos.reshape([b, 1, 1, t, 1]).mul(notEos.reshape([b, 1, 1, 1, t])); // (B, 1, 1, T, T)
    let a = attentions.mul(keep);
    // Drop the last index, then the first: positions 1 … T−2. `tail` has length T − 2 at any T.
    const tail = tokens.slice(1, 2); // (B, T) -> (B, T − 2)
    a = a.slice(-1, 1).slice(-2, 1); // (B, L, H, T − 1, T − 1): positions 1 … T−1
    a = a.sliceTo(-1, tail, 1).sliceTo(-2, tail, 1); // (B, L, H, T', T'): positions 1 … T−2
    const s = a.add(a.mT); // symmetrise
    // Average product correction per map: S − rowsum ⊗ colsum / total.
    const a1 = s.sum(-1, true); // (B, L, H, T', 1)
    const a2 = s.sum(-2, true); // (B, L, H, 1, T')
    const a12 = s.sum([-1, -2], true); // (B, L, H, 1, 1)
    const corrected = s.sub(a1.mul(a2).div(a12));
    const tp = t - 2;
    const channelsLast = corrected.transpose([0, 3, 4, 1, 2]).reshape([b, tp, tp, l * h]); // (B, L, H, T', T') -> (B, T', T', L·H)
    return this.regression.forward(channelsLast).squeezeAxis(-1).sigmoid(); // (B, T', T', 1) -> (B, T', T')
  }
}
