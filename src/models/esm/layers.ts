import { gelu } from '../../nn/functional/activations.js';
import { scaledDotProductAttention } from '../../nn/functional/attention.js';
import { applyRotary, rotaryInvFreq, rotaryTables } from '../../nn/functional/rotary.js';
import { LayerNorm } from '../../nn/layer-norm.js';
import { Linear } from '../../nn/linear.js';
import type { Projection } from '../../nn/low-rank-linear.js';
import { Module, Parameter } from '../../nn/module.js';
import { shapeError } from '../../errors.js';
import { hostArray } from '../../tensor/host-array.js';
import type { Rng } from '../../tensor/random.js';
import { Tensor } from '../../tensor/tensor.js';
import type { EsmConfig } from './config.js';

/**
 * The building blocks ESM-1b and ESM-2 share (fair-esm `esm/modules.py` TransformerLayer and
 * RobertaLMHead, `esm/multihead_attention.py`, `esm/rotary_embedding.py`; spec §4.4–4.9).
 *
 * Dims: B batch, T tokens, E embed, H heads, Dh = E/H, F ffn, V vocab.
 */

/**
 * Self-attention with q/k/v/out projections (all with bias), optionally rotary (ESM-2). Each
 * projection is a Linear, or a LowRankLinear after compression (nn/swap.ts).
 */
export class EsmSelfAttention extends Module {
  readonly qProj: Projection;
  readonly kProj: Projection;
  readonly vProj: Projection;
  readonly outProj: Projection;
  /** The rotary inverse frequencies (a buffer: released checkpoints store float16-rounded values). */
  invFreq: Float32Array;
  /**
   * Rows of the cos/sin tables at least (grown in powers of two past it). Graphs traced once and
   * run at other lengths (exports, extraction sessions) need it to cover their longest input.
   */
  minRotaryRows = 1024;
  private readonly tables = new Map<number, { cos: Tensor; sin: Tensor }>();

  constructor(readonly embedDim: number, readonly heads: number, rng: Rng) {
    super();
    this.qProj = new Linear(embedDim, embedDim, { rng });
    this.kProj = new Linear(embedDim, embedDim, { rng });
    this.vProj = new Linear(embedDim, embedDim, { rng });
    this.outProj = new Linear(embedDim, embedDim, { rng });
    this.invFreq = rotaryInvFreq(embedDim / heads);
  }

  /** Replaces the rotary buffer (e.g. with a checkpoint's stored values). */
  setInvFreq(f: Float32Array): void {
    if (f.length !== this.embedDim / this.heads / 2) {
      throw shapeError('setInvFreq', `inv_freq has ${f.length} values, head dim ${this.embedDim / this.heads} needs ${this.embedDim / this.heads / 2}`);
    }
    this.invFreq = f;
    this.tables.clear();
  }

  /** cos/sin tables sliced to the first T positions, so exported graphs follow the runtime length. */
  private rotary(h: Tensor): { cos: Tensor; sin: Tensor } {
    const t = h.shape[1] as number;
    const rows = Math.max(this.minRotaryRows, 2 ** Math.ceil(Math.log2(Math.max(t, 1))));
    let r = this.tables.get(rows);
    if (r === undefined) {
      r = rotaryTables(rows, this.invFreq);
      this.tables.set(rows, r);
    }
    return { cos: r.cos.sliceTo(0, h, 1), sin: r.sin.sliceTo(0, h, 1) }; // (rows, Dh) -> (T, Dh)
  }

  /** h (B, T, E), keyPad (B, T) bool -> (B, T, E) and probabilities (B, H, T, T). */
  forward(h: Tensor, keyPad: Tensor | undefined, rotary: boolean): { out: Tensor; probs: Tensor } {
    const [b, t] = [h.shape[0] as number, h.shape[1] as number];
    const H = this.heads;
    const dh = this.embedDim / H;
    const split = (x: Tensor): Tensor => x.reshape([b, t, H, dh]).transpose([0, 2, 1, 3]); // (B, T, E) -> (B, H, T, Dh)
    // fair-esm scales q by Dh^-1/2 right after the projection, before rotary.
    let q = split(this.qProj.forward(h).mul(dh ** -0.5));
    let k = split(this.kProj.forward(h));
    const v = split(this.vProj.forward(h));
    if (rotary) {
      const { cos, sin } = this.rotary(h);
      q = applyRotary(q, cos, sin);
      k = applyRotary(k, cos, sin);
    }
    const a = keyPad !== undefined && !q.requiresGrad && !k.requiresGrad
      ? maskedAttentionInference(q, k, v, keyPad)
      : scaledDotProductAttention(q, k, v, { scale: 1, ...(keyPad === undefined ? {} : { keyPaddingMask: keyPad }) });
    const o = a.out.transpose([0, 2, 1, 3]).reshape([b, t, this.embedDim]); // (B, H, T, Dh) -> (B, T, E)
    return { out: this.outProj.forward(o), probs: a.probs };
  }
}

/** One pre-LN transformer layer: x + Attn(LN(x)), then x + FFN(LN(x)) with exact GELU. */
export class EsmLayer extends Module {
  readonly selfAttnLayerNorm: LayerNorm;
  readonly selfAttn: EsmSelfAttention;
  readonly finalLayerNorm: LayerNorm;
  readonly fc1: Projection;
  readonly fc2: Projection;

  constructor(cfg: EsmConfig, rng: Rng) {
    super();
    this.selfAttnLayerNorm = new LayerNorm(cfg.embedDim, cfg.layerNormEps);
    this.selfAttn = new EsmSelfAttention(cfg.embedDim, cfg.attentionHeads, rng);
    this.finalLayerNorm = new LayerNorm(cfg.embedDim, cfg.layerNormEps);
    this.fc1 = new Linear(cfg.embedDim, cfg.ffnDim, { rng });
    this.fc2 = new Linear(cfg.ffnDim, cfg.embedDim, { rng });
  }

  forward(x: Tensor, keyPad: Tensor | undefined, rotary: boolean): { x: Tensor; probs: Tensor } {
    const a = this.selfAttn.forward(this.selfAttnLayerNorm.forward(x), keyPad, rotary);
    const x1 = x.add(a.out);
    const f = this.fc2.forward(gelu(this.fc1.forward(this.finalLayerNorm.forward(x1)))); // (B,T,E) -> (B,T,F) -> (B,T,E)
    return { x: x1.add(f), probs: a.probs };
  }
}

/** LM head (RoBERTa style): dense -> GELU -> LayerNorm -> tied decoder + bias. */
export class EsmLmHead extends Module {
  readonly dense: Projection;
  readonly layerNorm: LayerNorm;
  readonly bias: Parameter;

  constructor(cfg: EsmConfig, rng: Rng) {
    super();
    this.dense = new Linear(cfg.embedDim, cfg.embedDim, { rng });
    this.layerNorm = new LayerNorm(cfg.embedDim, cfg.layerNormEps);
    this.bias = Parameter.of(hostArray('float32', [cfg.vocabSize], new Float32Array(cfg.vocabSize)));
  }

  /** x (B, T, E), decoder weight (V, E) -> logits (B, T, V) */
  forward(x: Tensor, decoder: Tensor): Tensor {
    const z = this.layerNorm.forward(gelu(this.dense.forward(x)));
    return z.matmul(decoder.mT).add(this.bias); // (B,T,E) @ (E,V) -> (B,T,V)
  }
}

/**
 * ESM token dropout at inference (spec §4.2): zero `<mask>` embeddings and scale each row by
 * 0.88 / (1 − m/n), n = non-pad tokens (incl. BOS/EOS), m = mask tokens. Applied to every row,
 * masks or not, in the reference's order: `x · 0.88 / (1 − m/n)`.
 */
export function tokenDropoutRescale(x: Tensor, tokens: Tensor, pad: Tensor, maskIdx: number): Tensor {
  const isMask = tokens.equal(maskIdx); // (B, T)
  const m = isMask.cast('float32').sum(1, true); // (B, 1)
  const n = pad.logicalNot().cast('float32').sum(1, true); // (B, 1)
  const keepRatio = m.div(n).rsub(1).unsqueeze(-1); // (B, 1, 1)
  return isMask.unsqueeze(-1).where(Tensor.constant([0]), x).mul(1 - 0.15 * 0.8).div(keepRatio);
}

/**
 * softmax(q·kᵀ + mask)·v for inference, with the key-padding bias folded into the score matmul:
 * q gets a column of ones and k a column holding 0 (keep) or −1e9 (pad), so q'·k'ᵀ = q·kᵀ + bias
 * without a broadcast add over (B, H, T, T), which measured slower (docs/PERFORMANCE.md). Adding
 * an exact 0 leaves kept scores unchanged, and exp(−1e9 − max) is exactly 0, so the probabilities
 * equal those of −∞ masking. Used only when no gradient flows (the column of −1e9 would meet zero
 * gradients in the backward pass).
 */
function maskedAttentionInference(q: Tensor, k: Tensor, v: Tensor, keyPad: Tensor): { out: Tensor; probs: Tensor } {
  const [b, h, t] = q.shape as [number, number, number, number];
  const bias = keyPad.where(Tensor.constant([-1e9]), Tensor.constant([0])).reshape([b, 1, t, 1]).expand([b, h, t, 1]); // (B, T) -> (B, H, T, 1)
  const ones = bias.mul(0).add(1); // (B, H, T, 1) of ones (from finite values, shape-agnostic)
  const qa = Tensor.concat([q, ones], -1); // (B, H, T, Dh + 1)
  const ka = Tensor.concat([k, bias], -1); // (B, H, T, Dh + 1)
  const probs = qa.matmul(ka.mT).softmax(-1); // (B, H, T, Dh+1) @ (B, H, Dh+1, T) -> (B, H, T, T)
  return { out: probs.matmul(v), probs }; // (B, H, T, T) @ (B, H, T, Dh) -> (B, H, T, Dh)
}
