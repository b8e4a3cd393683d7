import { dtypeError } from '../../errors.js';
import { Embedding } from '../../nn/embedding.js';
import { LayerNorm } from '../../nn/layer-norm.js';
import { Module } from '../../nn/module.js';
import type { Rng } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { EsmConfig } from './config.js';
import { ContactPredictionHead } from './contact-head.js';
import { EsmLayer, EsmLmHead, tokenDropoutRescale } from './layers.js';
import { checkForwardInputs, runTrunk, type EsmForwardOptions, type EsmOutput } from './trunk.js';

/** The shared layers, kept importable from here for existing callers. */
export { EsmLayer, EsmLmHead, EsmSelfAttention, tokenDropoutRescale } from './layers.js';
export type { EsmForwardOptions, EsmOutput } from './trunk.js';

/**
 * ESM-2 (Lin et al. 2023, https://www.science.org/doi/10.1126/science.ade2574), following
 * fair-esm `esm/model/esm2.py` as written up in the ESM spec §4: token embedding with
 * token-dropout rescaling and pad zeroing, pre-LN transformer layers with rotary self-attention,
 * a final LayerNorm, a RoBERTa-style LM head tied to the embedding, and (optionally) the contact
 * head over the attention maps.
 *
 * Dims: B batch, T tokens, E embed, V vocab.
 */

/** Construction options shared by the ESM models. */
export interface EsmModelOptions {
  /**
   * Build the contact head (its regression weights come with fair-esm / Hugging Face checkpoints).
   * Off by default so training students carry no unused parameters.
   */
  readonly contactHead?: boolean;
}

/** An ESM-2 model; ESM-2-style students use the same class with small configs. */
export class Esm2 extends Module {
  readonly embedTokens: Embedding;
  readonly layers: EsmLayer[];
  readonly embLayerNormAfter: LayerNorm;
  readonly lmHead: EsmLmHead;
  readonly contactHead: ContactPredictionHead | null;

  constructor(readonly config: EsmConfig, rng: Rng, opts: EsmModelOptions = {}) {
    super();
    if (config.arch !== 'esm2') throw dtypeError('Esm2', `config arch is ${config.arch}, not esm2`);
    this.embedTokens = new Embedding(config.vocabSize, config.embedDim, { rng, paddingIdx: config.paddingIdx });
    this.layers = Array.from({ length: config.numLayers }, () => new EsmLayer(config, rng));
    this.embLayerNormAfter = new LayerNorm(config.embedDim, config.layerNormEps);
    this.lmHead = new EsmLmHead(config, rng);
    this.contactHead = opts.contactHead === true ? new ContactPredictionHead(config.numLayers, config.attentionHeads, rng) : null;
  }

  /** tokens (B, T) int -> logits and requested representations, attention maps and contacts. */
  forward(tokens: Tensor, opts: EsmForwardOptions = {}): EsmOutput {
    const cfg = this.config;
    const pad = checkForwardInputs('Esm2.forward', cfg, tokens, opts); // (B, T) bool
    const keep = pad.logicalNot().cast('float32').unsqueeze(-1); // (B, T, 1)
    let x = this.embedTokens.forward(tokens); // (B, T) -> (B, T, E)
    if (cfg.tokenDropout) x = tokenDropoutRescale(x, tokens, pad, cfg.maskIdx);
    x = x.mul(keep);
    return runTrunk({ ...this.trunkParts(), decoder: this.embedTokens.weight }, x, tokens, pad, opts, true);
  }

  /** Makes graphs traced at one length valid up to `maxTokens` (rotary tables cover it). */
  reserveLength(maxTokens: number): void {
    for (const l of this.layers) l.selfAttn.minRotaryRows = Math.max(l.selfAttn.minRotaryRows, maxTokens);
  }

  private trunkParts(): Omit<Parameters<typeof runTrunk>[0], 'decoder'> {
    return { config: this.config, layers: this.layers, embLayerNormAfter: this.embLayerNormAfter, lmHead: this.lmHead, contactHead: this.contactHead };
  }
}
