import { gelu } from '../../nn/functional/activations.js';
import { scaledDotProductAttention } from '../../nn/functional/attention.js';
import { applyRotary, rotaryInvFreq, rotaryTables } from '../../nn/functional/rotary.js';
import { Embedding } from '../../nn/embedding.js';
import { LayerNorm } from '../../nn/layer-norm.js';
import { Linear } from '../../nn/linear.js';
import { Module, Parameter } from '../../nn/module.js';
import { dtypeError, shapeError } from '../../errors.js';
import { hostArray } from '../../tensor/host-array.js';
import type { Rng } from '../../tensor/random.js';
import { fmtShape } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import type { EsmConfig } from './config.js';

/**
 * ESM-2 (Lin et al. 2023, https://www.science.org/doi/10.1126/science.ade2574), following
 * fair-esm `esm/model/esm2.py` and `esm/modules.py` as written up in the ESM spec: token
 * embedding with token-dropout rescaling, pre-LN transformer layers with rotary self-attention,
 * a final LayerNorm and a RoBERTa-style LM head tied to the embedding.
 *
 * Dims: B batch, T tokens, E embed, H heads, Dh = E/H, F ffn, V vocab.
 */

/** Rotary self-attention with q/k/v/out projections (all with bias). */
export class EsmSelfAttention extends Module {
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly outProj: Linear;
  /** The rotary inverse frequencies (a buffer: checkpoints store float16-rounded values). */
  invFreq: Float32Array;
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
    this.invFreq = f;
    this.tables.clear();
  }

  /**
   * cos/sin tables for the first T positions, sliced from a table of at least 1024 rows (grown in
   * powers of two) so exported graphs follow the runtime length.
   */
  private rotary(h: Tensor): { cos: Tensor; sin: Tensor } {
    const t = h.shape[1] as number;
    const rows = Math.max(1024, 2 ** Math.ceil(Math.log2(t)));
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
    let q = split(this.qProj.forward(h).mul(1 / Math.sqrt(dh)));
    let k = split(this.kProj.forward(h));
    const v = split(this.vProj.forward(h));
    if (rotary) {
      const { cos, sin } = this.rotary(h);
      q = applyRotary(q, cos, sin);
      k = applyRotary(k, cos, sin);
    }
    const a = scaledDotProductAttention(q, k, v, { scale: 1, ...(keyPad === undefined ? {} : { keyPaddingMask: keyPad }) });
    const o = a.out.transpose([0, 2, 1, 3]).reshape([b, t, this.embedDim]); // (B, H, T, Dh) -> (B, T, E)
    return { out: this.outProj.forward(o), probs: a.probs };
  }
}

/** One pre-LN transformer layer. */
export class EsmLayer extends Module {
  readonly selfAttnLayerNorm: LayerNorm;
  readonly selfAttn: EsmSelfAttention;
  readonly finalLayerNorm: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;

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

/** LM head: dense -> GELU -> LayerNorm -> tied decoder + bias. */
export class EsmLmHead extends Module {
  readonly dense: Linear;
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

/** What a forward pass returns. */
export interface EsmOutput {
  /** (B, T, V) */
  readonly logits: Tensor;
  /** Requested representation layers (0 = embeddings, L = final-LN output), each (B, T, E). */
  readonly representations: ReadonlyMap<number, Tensor>;
  /** Per-layer attention probabilities (B, H, T, T), when requested. */
  readonly attentions: readonly Tensor[];
}

/** Forward options. */
export interface EsmForwardOptions {
  /** Representation layers to return, in [0, L]. */
  readonly reprLayers?: readonly number[];
  readonly needAttentions?: boolean;
}

/** An ESM-2 model; ESM-2-style students use the same class with small configs. */
export class Esm2 extends Module {
  readonly embedTokens: Embedding;
  readonly layers: EsmLayer[];
  readonly embLayerNormAfter: LayerNorm;
  readonly lmHead: EsmLmHead;

  constructor(readonly config: EsmConfig, rng: Rng) {
    super();
    if (config.arch !== 'esm2') throw dtypeError('Esm2', `config arch is ${config.arch}, not esm2`);
    this.embedTokens = new Embedding(config.vocabSize, config.embedDim, { rng, paddingIdx: config.paddingIdx });
    this.layers = Array.from({ length: config.numLayers }, () => new EsmLayer(config, rng));
    this.embLayerNormAfter = new LayerNorm(config.embedDim, config.layerNormEps);
    this.lmHead = new EsmLmHead(config, rng);
  }

  /** tokens (B, T) int -> logits and requested representations. */
  forward(tokens: Tensor, opts: EsmForwardOptions = {}): EsmOutput {
    const cfg = this.config;
    if (tokens.rank !== 2 || (tokens.dtype !== 'int64' && tokens.dtype !== 'int32')) {
      throw shapeError('Esm2.forward', `tokens must be an int (B, T) matrix, got ${tokens.dtype} ${fmtShape(tokens.shape)}`);
    }
    const want = new Set(opts.reprLayers ?? []);
    for (const l of want) if (!(Number.isInteger(l) && l >= 0 && l <= cfg.numLayers)) throw shapeError('Esm2.forward', `representation layer ${l} is outside [0, ${cfg.numLayers}]`);
    const reps = new Map<number, Tensor>();
    const pad = tokens.equal(cfg.paddingIdx); // (B, T) bool
    const keep = pad.logicalNot().cast('float32').unsqueeze(-1); // (B, T, 1)
    let x = this.embedTokens.forward(tokens); // (B, T) -> (B, T, E)
    if (cfg.tokenDropout) x = tokenDropoutRescale(x, tokens, pad, cfg.maskIdx);
    x = x.mul(keep);
    if (want.has(0)) reps.set(0, x);
    const attentions: Tensor[] = [];
    this.layers.forEach((layer, i) => {
      const r = layer.forward(x, pad, true);
      x = r.x;
      if (opts.needAttentions === true) attentions.push(r.probs);
      if (i + 1 < cfg.numLayers && want.has(i + 1)) reps.set(i + 1, x);
    });
    x = this.embLayerNormAfter.forward(x);
    if (want.has(cfg.numLayers)) reps.set(cfg.numLayers, x);
    const logits = this.lmHead.forward(x, this.embedTokens.weight);
    return { logits, representations: reps, attentions };
  }
}

/**
 * ESM token dropout at inference (spec §4.2): zero `<mask>` embeddings and scale each row by
 * 0.88 / (1 − m/n), n = non-pad tokens (incl. BOS/EOS), m = mask tokens.
 */
export function tokenDropoutRescale(x: Tensor, tokens: Tensor, pad: Tensor, maskIdx: number): Tensor {
  const isMask = tokens.equal(maskIdx); // (B, T)
  const m = isMask.cast('float32').sum(1, true); // (B, 1)
  const n = pad.logicalNot().cast('float32').sum(1, true); // (B, 1)
  const scale = m.div(n).rsub(1).reciprocal().mul(1 - 0.15 * 0.8).unsqueeze(-1); // (B, 1, 1)
  return isMask.unsqueeze(-1).where(Tensor.constant([0]), x).mul(scale);
}
